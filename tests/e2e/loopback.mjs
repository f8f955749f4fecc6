// Preloaded into a test peer that listens on every interface: it listens on 127.0.0.1 only.
import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === "number" || typeof args[0] === "string") && (args.length === 1 || typeof args[1] === "function"))
    args.splice(1, 0, "127.0.0.1");
  return listen.apply(this, args);
};
