-- wrk script for bench/load.sh: POST /v1/messages with a rotating set of shopper questions
-- in the demo shop's four languages (new conversation each time).
local questions = {
  "how do I return my boots?",
  "where is my parcel",
  "do you ship to Canada?",
  "what size should I take in hiking boots",
  "can I pay with PayPal?",
  "my jacket zipper broke, is it under warranty?",
  "¿cuánto tarda el envío a España?",
  "¿puedo devolver un producto rebajado?",
  "quanto custa o envio para Portugal?",
  "hoe lang duurt de levering?",
  "I want to talk to a person",
  "asdfgh qwerty",
}
local bodies = {}
for i, q in ipairs(questions) do
  bodies[i] = '{"text": "' .. q .. '", "channel": "bench"}'
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/messages", { ["Content-Type"] = "application/json" },
    bodies[(n % #bodies) + 1])
end
