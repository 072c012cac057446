import { deleteCommand } from './service-common.js';

export const listenerDelete = deleteCommand('Listener');
