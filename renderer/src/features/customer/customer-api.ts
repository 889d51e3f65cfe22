// The customer workspace's calls to the gateway (search, create, edit, link a call), direct
// like the screen pop, with the short-lived access token main hands out. The gateway limits
// every one of them to the operator's campaigns (server/crm/scope.ts); the renderer only asks.
import { accessToken, gatewayClient } from '../../gateway';
import type { CampaignView, CustomerView } from '../../../../shared/gateway/crm';
import type { z } from 'zod';
import type { CustomerCreateRequest, CustomerPatchRequest } from '../../../../shared/gateway/crm';

export type CustomerDraft = z.input<typeof CustomerCreateRequest>;
export type CustomerChanges = z.input<typeof CustomerPatchRequest>;

export async function searchCustomers(q: string): Promise<CustomerView[]> {
  return (await gatewayClient.call('searchCustomers', { accessToken: await accessToken(), query: { q, limit: 20 } })).customers;
}

export async function campaignsInScope(): Promise<CampaignView[]> {
  return (await gatewayClient.call('listCampaigns', { accessToken: await accessToken() })).campaigns;
}

export async function createCustomer(body: CustomerDraft): Promise<CustomerView> {
  return gatewayClient.call('createCustomer', { accessToken: await accessToken(), body: body as never });
}

export async function patchCustomer(id: string, body: CustomerChanges): Promise<CustomerView> {
  return gatewayClient.call('patchCustomer', { accessToken: await accessToken(), params: { id }, body: body as never });
}

/** Links the operator's call (its SIP Call-ID) to a customer: the call's history and notes follow. */
export async function linkCall(sipCallId: string, customerId: string): Promise<void> {
  await gatewayClient.call('patchCall', { accessToken: await accessToken(), params: { callId: sipCallId }, body: { customerId } });
}
