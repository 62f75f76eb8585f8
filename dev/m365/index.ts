// The simulated Microsoft 365: `startM365Simulator` lives in server.ts (also the standalone entry).
export * from './server';
export * from './seed';
export { driveSignIn, type DriveSignInOptions, type DriveSignInResult } from './driver';
