import { listCommand, listenerData, printListeners } from './service-common.js';

export const listenerList = listCommand(
  'Listener',
  'listeners of this site and whether a connector matches each',
  listenerData,
  printListeners,
);
