// A short blocklist of the most common passwords (lower-cased), including the ones that
// satisfy "upper + lower + digit + symbol" rules, which is exactly what attackers try first.
// Orgs can add their own words in policy.password.blocklist.
export const COMMON_PASSWORDS: readonly string[] = [
  'password', 'password1', 'password1!', 'password123', 'password123!', 'passw0rd', 'passw0rd!',
  'p@ssw0rd', 'p@ssw0rd1', 'p@ssword1', 'p@$$w0rd', 'welcome1', 'welcome1!', 'welcome123!',
  'qwerty', 'qwerty123', 'qwerty123!', 'qwerty1!', 'abc123', 'abcd1234!', 'a1b2c3d4!',
  '123456', '12345678', '123456789', '1234567890', '111111', '000000', 'iloveyou', 'iloveyou1!',
  'admin', 'admin123', 'admin123!', 'admin@123', 'administrator1!', 'letmein', 'letmein1!',
  'changeme', 'changeme1!', 'changeme123!', 'summer2024!', 'summer2025!', 'winter2024!', 'winter2025!',
  'spring2025!', 'autumn2025!', 'monkey', 'dragon', 'football', 'baseball', 'sunshine', 'princess',
  'trustno1', 'master', 'superman', 'batman', 'whatever', 'shadow', 'michael', 'jordan23',
  'test1234!', 'test@123', 'pass@123', 'pass@word1', 'hello123!', 'login123!', 'secret123!',
  'company1!', 'koe12345!', 'koe@1234', 'callcenter1!', 'tokyo2020!', 'nippon123!', 'sakura123!',
];
