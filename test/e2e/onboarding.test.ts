import { onboardingInChromium } from './chromium-onboarding';

// Over https, as in Azure. Screenshots of each page go to test-results/screenshots/.
onboardingInChromium('https');
