// Unit tests live beside the code (services/<name>/src, *.test.ts); integration and end-to-end
// tests live in test/. Both run through ts-jest against the TypeScript sources.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  moduleNameMapper: { '^@msd/common$': '<rootDir>/services/common/src/index.ts' },
  testTimeout: 60000,
  maxWorkers: 2,
};
