import { onboardingInChromium } from './chromium-onboarding';

// Over plain http://localhost, as `npm start` serves it: the browser key cookie (Secure, __Host-)
// must still be accepted there.
onboardingInChromium('http');
