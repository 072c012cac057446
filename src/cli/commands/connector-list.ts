import { connectorData, listCommand, printConnectors } from './service-common.js';

export const connectorList = listCommand(
  'Connector',
  'connectors of this site and whether the network sees them',
  connectorData,
  printConnectors,
);
