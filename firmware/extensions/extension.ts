// An extension is one concern attached to the box: it reads the box through the
// event bus and the domain parts it is given, and acts on it only through the
// request router (ARCHITECTURE.md "Extensions"). The controller builds each with
// what it needs (box-extensions.ts), starts them in order and stops them in reverse.

export interface Extension {
  /** for logs: which extension failed to start or stop */
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}
