// Transitional: server/sip/agent-ws.ts (being rewritten elsewhere) still imports the phone
// lookup from here. The CRM lives in server/crm/; point that import at '../crm/queries' and
// delete this file.
export { customersByPhoneQuery } from '../crm/queries';
