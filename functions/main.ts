import { app } from '@azure/functions';
import { loadConfig } from '../shared/config';
import { withQueuePrefix } from '../shared/triggers';
import { triggers } from './index';

// Fail at start, naming every missing or malformed setting, rather than on the first request.
const config = loadConfig(process.env);

for (const t of withQueuePrefix(triggers, config.storage.namePrefix)) {
  switch (t.kind) {
    case 'http':
      app.http(t.name, { route: t.route, methods: t.methods, authLevel: t.authLevel, handler: t.handler });
      break;
    case 'timer':
      app.timer(t.name, { schedule: t.schedule, handler: t.handler });
      break;
    case 'queue':
      app.storageQueue(t.name, {
        queueName: t.queueName,
        connection: 'AzureWebJobsStorage',
        handler: t.handler,
      });
      break;
  }
}
