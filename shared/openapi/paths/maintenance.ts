import { maintenanceViewSchema, pauseRequestSchema } from '../../jobs/views';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonBody,
  jsonResponse,
  type Operation,
  type PathItem,
} from '../schema';

const view = fromZod(maintenanceViewSchema);
const change = (operationId: string, summary: string, body: boolean): Operation => ({
  operationId,
  tags: ['Maintenance'],
  summary,
  security: functionKey,
  ...(body ? { requestBody: { ...jsonBody(fromZod(pauseRequestSchema)), required: false } } : {}),
  responses: {
    '200': jsonResponse('The switch, what waits in each queue and what holds a lease now.', view),
    '400': errorResponse('BadRequest'),
    '401': errorResponse('Unauthorized'),
  },
});

/** The pause switch for upgrades without downtime. */
export const maintenancePaths: Record<string, PathItem> = {
  '/api/maintenance': {
    get: {
      operationId: 'getMaintenance',
      tags: ['Maintenance'],
      summary: 'Whether background work is paused, what is queued and what is in flight.',
      security: functionKey,
      responses: {
        '200': jsonResponse('The maintenance state.', view),
        '401': errorResponse('Unauthorized'),
      },
    },
  },
  '/api/maintenance/pause': {
    post: change(
      'pauseMaintenance',
      'Stop executing background work; work is still accepted, stored and queued.',
      true,
    ),
  },
  '/api/maintenance/resume': {
    post: change('resumeMaintenance', 'Execute background work again; held work drains.', false),
  },
};
