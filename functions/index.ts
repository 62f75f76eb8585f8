import type { Trigger } from '../shared/triggers';
import {
  authenticateCallback,
  authenticateInvitation,
  authenticateStart,
  authenticateStylesheet,
} from './authenticate/authenticate';
import { createCustomer, getCustomer, listCustomers, updateCustomer } from './customers/customers';
import {
  getInvitationSettings,
  listInvitations,
  revokeInvitation,
  sendInvitation,
  updateInvitationSettings,
} from './invitations/invitations';
import { openApi } from './openapi';
import { listAudit } from './ops/audit';
import { health, healthDetails } from './ops/health';
import { getOrderEvent, listOrderEvents, retryOrderEvent } from './orders/events';
import { receiveOrderEvent } from './orders/webhook';
import { deliverOrderCallback, processOrderEvent, sweepOrders } from './orders/workers';

/**
 * Every trigger of the app, in one list. `main.ts` registers them with Azure; the local host in
 * `dev/host` serves the same list.
 */
export const triggers: Trigger[] = [
  health,
  healthDetails,
  createCustomer,
  listCustomers,
  getCustomer,
  updateCustomer,
  sendInvitation,
  listInvitations,
  revokeInvitation,
  getInvitationSettings,
  updateInvitationSettings,
  authenticateInvitation,
  authenticateStart,
  authenticateCallback,
  authenticateStylesheet,
  receiveOrderEvent,
  listOrderEvents,
  getOrderEvent,
  retryOrderEvent,
  processOrderEvent,
  deliverOrderCallback,
  sweepOrders,
  openApi,
  listAudit,
];
