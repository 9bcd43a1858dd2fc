declare module 'murmurhash3js-revisited' {
  interface X86 {
    /** MurmurHash3 x86 32-bit of the bytes, as an unsigned int. */
    hash32(bytes: ArrayLike<number>, seed?: number): number;
  }
  const murmur: { x86: X86; inputValidation: boolean };
  export default murmur;
}
