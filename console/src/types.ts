// The console reads the router's network model; these are the same types the router serves (one contract).
export type {
  FlowRecord,
  LinkModel,
  NetworkModel,
  ServiceEndpoint,
  ServiceModel,
  SiteModel,
  SitePairTraffic,
  TrafficSample,
} from '../../src/observe/model.js';
