export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
  debug: (m) => {
    if (process.env.LOCAL_RUNTIME_DEBUG) console.log(m);
  },
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
