/** Site names of router ids, for display. */
export { siteOfRouter } from '../admin/network-view.js';
