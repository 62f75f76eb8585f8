import { notificationBench } from './notifications';
import { replicationBench } from './replication';
import { sbcBench } from './sbc';
import { tokenBench } from './tokens';

/** One bench, in this process only (see isolated.ts); its result is the last line on stdout. */
const benches = {
  sbc: sbcBench,
  tokens: tokenBench,
  notifications: notificationBench,
  replication: replicationBench,
} as const;

const name = process.argv[2] as keyof typeof benches;
const run = benches[name];
if (!run) {
  console.error(`unknown bench ${String(name)}`);
  process.exit(2);
}
run().then(
  (result) => {
    console.log(`\n${JSON.stringify(result)}`);
    process.exit(0);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
