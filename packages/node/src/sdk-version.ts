/** This SDK's version, as instances report it (kept equal to package.json's by a unit test). */
export const SDK_VERSION = '0.1.0';
