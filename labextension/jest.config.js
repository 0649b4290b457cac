/** Unit tests of the panel's logic (src/__tests__), in node: model.ts and sse.ts need no browser. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: { types: ['jest'], strict: true, esModuleInterop: true, module: 'commonjs', target: 'ES2019' } }]
  }
};
