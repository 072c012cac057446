import { deleteCommand } from './service-common.js';

export const connectorDelete = deleteCommand('Connector');
