/**
 * Unit tests of the extension's pure modules (the protocol, the status look), in node:
 * they import nothing from JupyterLab at run time, so no browser environment is needed.
 */
module.exports = {
  testEnvironment: 'node',
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
