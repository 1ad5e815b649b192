/**
 * An error with a stable code callers branch on and tests assert, and a message for people. Subclasses
 * fix the code union and the name; messages never quote key material.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
