wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local doc = '{\\"name\\":\\"bench\\",\\"kind\\":\\"track\\",\\"lat\\":59.3293,\\"lon\\":18.0686,' ..
  '\\"alt\\":42.5,\\"speed\\":12.75,\\"heading\\":271,\\"status\\":\\"ACTIVE\\",' ..
  '\\"tags\\":[\\"alpha\\",\\"bravo\\",\\"charlie\\"],\\"seq\\":%d,\\"owner\\":\\"node-a\\",' ..
  '\\"note\\":\\"~300 byte document for B1 put/get rows\\"}'
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"collection":"bench","docId":"put-%d","jsonData":"' .. doc .. '"}',
    n % 1000, n)
  return wrk.format(nil, nil, nil, body)
end
