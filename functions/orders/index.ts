import type { Trigger } from '../../shared/triggers';
import { getOrderEvent, listOrderEvents, retryOrderEvent } from './events';
import { receiveOrderEvent } from './webhook';
import { processOrderEvent } from './workers';

export const ordersTriggers: Trigger[] = [
  receiveOrderEvent,
  listOrderEvents,
  getOrderEvent,
  retryOrderEvent,
  processOrderEvent,
];
