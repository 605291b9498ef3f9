/** The bytes the readers split and scan on, found in the input's UTF-8 bytes without decoding them. */
export const LF = 0x0a;
export const CR = 0x0d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
