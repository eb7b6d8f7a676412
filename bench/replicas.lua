-- wrk script for bench/store.sh: like messages.lua, but wrk's threads are spread over the
-- replicas named in REPLICAS ("127.0.0.1:PORT 127.0.0.1:PORT"), thread i to replica i mod n,
-- as a round-robin load balancer would.
local addrs = {}
for a in string.gmatch(os.getenv("REPLICAS") or "", "%S+") do
  local host, port = a:match("([^:]+):(%d+)")
  addrs[#addrs + 1] = wrk.lookup(host, port)[1]
end
local counter = 0
function setup(thread)
  counter = counter + 1
  if #addrs > 0 then
    thread.addr = addrs[((counter - 1) % #addrs) + 1]
  end
end
dofile("bench/messages.lua")
