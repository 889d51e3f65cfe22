export * from './api';
export * from './errors';
export * from './permissions';
export * from './policy';
export * from './cidr';
export * from './device-message';
export * from './crm';
export * from './sip';
