import type { Trigger } from '../../shared/triggers';
import {
  authenticateCallback,
  authenticateInvitation,
  authenticateStart,
  authenticateStylesheet,
} from './authenticate';
import { createCustomer, getCustomer, listCustomers, updateCustomer } from './customers';
import {
  getInvitationSettings,
  listInvitations,
  revokeInvitation,
  sendInvitation,
  updateInvitationSettings,
} from './invitations';

export const onboardingTriggers: Trigger[] = [
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
];
