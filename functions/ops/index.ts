import type { Trigger } from '../../shared/triggers';
import { listAudit } from './audit';
import { health, healthDetails } from './health';
import { getMaintenance, pauseMaintenance, resumeMaintenance } from './maintenance';
import { openApi } from './openapi';

export const opsTriggers: Trigger[] = [
  health,
  healthDetails,
  getMaintenance,
  pauseMaintenance,
  resumeMaintenance,
  openApi,
  listAudit,
];
