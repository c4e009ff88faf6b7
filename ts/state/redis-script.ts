// The one server-side script of the Redis store: every decision that needs shared state is ONE
// call of it (EVALSHA, EVAL on NOSCRIPT), so Redis runs it atomically with no other client between
// its reads and writes. It follows the Rust chain's order and comparisons (crates/axon-risk guard:
// the same `exceeds` tolerance, the same breaker state machine); the store conformance suite is its
// spec, and the tool-level conformance runs the same scenarios through the chain in memory and
// redis mode.
//
// KEYS (all of one account, one hash tag `{account}`, so the script runs unchanged on Cluster):
//   1 breaker hash (state, streak, until, openings)   2 exposure hash (<symbol>:pos|rb|rs|ib|is)
//   3 reservations hash (id -> JSON record)           4 leases zset (id, score = lease end ms)
//   5 tokens hash (token -> JSON)                     6 token expiries zset (token, expiry ms)
//   7 daily orders of today (string, expires after the day)   8 daily cancels of today (same)
//   9 PnL hash (day, value)                           10 resting orders hash (order id -> JSON)
//   11 trading state hash (state, from, source, reason, time, seq): the account's ACTIVE |
//      REDUCING | HALTED, absent until a replica first sets it (issue 16)
//   12 order-rate window zset (one member per granted place, replace or cancel, score = its time
//      in ms; trimmed to the last 60 s on every use, the key expires 120 s after the last send)
//   13 duplicate window zset (member = the order's duplicate key, the SHA-256 the Rust chain
//      computes of symbol, side, type, price and quantity; score = when it was last granted, ms;
//      trimmed to the request's window on every use, the key expires a window after the last grant)
// ARGV[1] = operation, ARGV[2] = now (Unix ms, the calling replica's clock), then per operation.
// Numbers travel as strings and are written with %.17g, so a double round-trips exactly (Lua's
// own tostring keeps 14 digits only). Replies are flat arrays of strings:
//   {'ok', id, day, leaseUntil, kind} | {'token', token, expiresAt} | {'no', CODE, name, value, ...}
//   | {'done'} | {'settled'} | {'expired'} | snapshot (see redis-store.ts).
// The verdicts of place, propose and cancel end with one nested array, the account's trading state
// {'trading', state, from, source, reason, time, seq}, once the account has one; `trading_set`
// and `trading_get` answer that array alone ({'trading'} when none was ever set). A place or
// propose while the account is HALTED is refused {'no', 'TRADING_HALTED'} before anything else:
// no token redeemed, no breaker moved, no slot or exposure taken. Cancels are never refused for it.
export const RISK_STATE_LUA = String.raw`
local op = ARGV[1]
local now = tonumber(ARGV[2])
local today = math.floor(now / 86400000)

local function num(s) if s == false or s == nil or s == '' then return nil end return tonumber(s) end
local function fmt(x) return string.format('%.17g', x) end
local function exceeds(v, lim) return not (v <= lim + math.abs(lim) * 1e-9 + 1e-12) end
local function clamp(v) if v < 1e-12 then return 0 end return v end

local function get_exposure(symbol, field) return num(redis.call('HGET', KEYS[2], symbol .. ':' .. field)) or 0 end
local function set_exposure(symbol, field, value) redis.call('HSET', KEYS[2], symbol .. ':' .. field, fmt(value)) end

local function release_inflight(rec)
  if rec.kind ~= 'place' then return end
  local field = 'is'
  if rec.side == 'buy' then field = 'ib' end
  set_exposure(rec.symbol, field, clamp(get_exposure(rec.symbol, field) - tonumber(rec.qty)))
end

-- Ends every lease that has run out: in-flight exposure released, the daily slot stays counted.
-- All of them, so no reservation counts past its lease; each is purged once (amortized O(1)).
local function purge_leases()
  local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', fmt(now))
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', KEYS[3], id)
    if raw then
      release_inflight(cjson.decode(raw))
      redis.call('HDEL', KEYS[3], id)
    end
    redis.call('ZREM', KEYS[4], id)
  end
end

local function breaker_state()
  local b = redis.call('HMGET', KEYS[1], 'state', 'streak', 'until')
  local state = b[1] or 'Closed'
  local until_ms = num(b[3]) or 0
  if state == 'Open' and now >= until_ms then
    state = 'HalfOpen'
    redis.call('HSET', KEYS[1], 'state', 'HalfOpen')
  end
  return state, num(b[2]) or 0, until_ms
end

local function open_breaker(cooldown)
  redis.call('HSET', KEYS[1], 'state', 'Open', 'until', fmt(now + cooldown))
  redis.call('HINCRBY', KEYS[1], 'openings', 1)
end

local function on_risk_rejection(threshold, cooldown)
  if not threshold then return end
  local state, streak = breaker_state()
  if state == 'Closed' then
    redis.call('HSET', KEYS[1], 'streak', fmt(streak + 1))
    if streak + 1 >= threshold then open_breaker(cooldown) end
  elseif state == 'HalfOpen' then
    redis.call('HSET', KEYS[1], 'streak', fmt(streak + 1))
    open_breaker(cooldown)
  end
end

local function on_pass(threshold)
  if not threshold then return end
  local state = breaker_state()
  if state == 'Closed' or state == 'HalfOpen' then redis.call('HSET', KEYS[1], 'state', 'Closed', 'streak', '0') end
end

local function daily_pnl()
  local p = redis.call('HMGET', KEYS[9], 'day', 'value')
  if num(p[1]) == today then return num(p[2]) end
  return nil
end

local function precheck(threshold, floor)
  if floor then
    local pnl = daily_pnl()
    if pnl and pnl < floor then return {'no', 'PNL_BREAKER_OPEN', 'dailyPnl', fmt(pnl), 'floor', fmt(floor)} end
  end
  if threshold then
    local state, streak, until_ms = breaker_state()
    if state == 'Open' then
      return {'no', 'CIRCUIT_BREAKER_OPEN', 'rejections', fmt(streak), 'cooldownRemainingMs', fmt(math.max(0, until_ms - now))}
    end
  end
  return nil
end

local SECOND_MS, MINUTE_MS = 1000, 60000

-- The order-rate throttle over the account's window, as the Rust chain's Controls::check_rate
-- words it: the minute window first, then the second (sends at or before now - span are out).
-- Trimmed to the minute always, so replicas configured with either window keep what the other needs.
local function rate_refusal(per_second, per_minute)
  if not per_second and not per_minute then return nil end
  redis.call('ZREMRANGEBYSCORE', KEYS[12], '-inf', fmt(now - MINUTE_MS))
  if per_minute then
    local in_minute = redis.call('ZCARD', KEYS[12])
    if in_minute >= per_minute then return {'no', 'RATE_LIMITED', 'wouldBe', fmt(in_minute + 1), 'windowMs', fmt(MINUTE_MS), 'limit', fmt(per_minute)} end
  end
  if per_second then
    local in_second = redis.call('ZCOUNT', KEYS[12], '(' .. fmt(now - SECOND_MS), '+inf')
    if in_second >= per_second then return {'no', 'RATE_LIMITED', 'wouldBe', fmt(in_second + 1), 'windowMs', fmt(SECOND_MS), 'limit', fmt(per_second)} end
  end
  return nil
end

-- One more send in the window, under a member unique to this grant (the same reservation id can
-- be granted again after it was settled: that is another message to the venue). A retried
-- request finds its live reservation before this and is not counted again.
local function take_rate(id, per_second, per_minute)
  if not per_second and not per_minute then return end
  local member = fmt(now) .. ':' .. redis.call('ZCARD', KEYS[12]) .. ':' .. id
  redis.call('ZADD', KEYS[12], fmt(now), member)
  redis.call('PEXPIRE', KEYS[12], 2 * MINUTE_MS)
end

-- The duplicate window (Controls::check words it): the same order granted less than the window
-- ago is refused. Every replica of an account runs one config, so trimming with this window drops
-- only what no request can still be refused for. The age never reads below 0 (a replica whose
-- clock is behind the one that granted it).
local function duplicate_refusal(dup_key, window)
  if not dup_key or not window then return nil end
  redis.call('ZREMRANGEBYSCORE', KEYS[13], '-inf', fmt(now - window))
  local sent_at = num(redis.call('ZSCORE', KEYS[13], dup_key))
  if sent_at and now - sent_at < window then
    return {'no', 'DUPLICATE_ORDER', 'ageMs', fmt(math.max(0, now - sent_at)), 'windowMs', fmt(window)}
  end
  return nil
end

-- A granted new order is the previous order of its key from now on; returns when (its reservation
-- keeps it, so a definite rejection forgets exactly this grant, not a later one).
local function take_duplicate(dup_key, window)
  if not dup_key or not window or window <= 0 then return nil end
  redis.call('ZADD', KEYS[13], fmt(now), dup_key)
  if redis.call('PTTL', KEYS[13]) < window then redis.call('PEXPIRE', KEYS[13], window) end
  return fmt(now)
end

-- max_open_orders for the account (Controls::check words it): the symbol's resting orders (the
-- resting hash, as the tools saw them placed and closed) + its live new-order reservations (in
-- flight, or of unknown outcome until their lease ends; a replace's growth is no new order).
-- O(resting + live reservations) of the account: both are bounded by what is open right now.
local function open_refusal(symbol, max_open)
  if not max_open then return nil end
  local resting, inflight = 0, 0
  for _, raw in ipairs(redis.call('HVALS', KEYS[10])) do
    if cjson.decode(raw).symbol == symbol then resting = resting + 1 end
  end
  for _, raw in ipairs(redis.call('HVALS', KEYS[3])) do
    local rec = cjson.decode(raw)
    if rec.kind == 'place' and rec.slot == '1' and rec.symbol == symbol then inflight = inflight + 1 end
  end
  if resting + inflight >= max_open then
    return {'no', 'MAX_OPEN_ORDERS', 'wouldBe', fmt(resting + inflight + 1), 'limit', fmt(max_open), 'resting', fmt(resting), 'inflight', fmt(inflight), 'uncertain', '0'}
  end
  return nil
end

local function check_limits(symbol, side, qty, max_daily, max_pos, threshold, cooldown, per_second, per_minute, dup_key, dup_window, max_open)
  if max_pos then
    local exposure, delta
    local pos = get_exposure(symbol, 'pos')
    if side == 'buy' then
      exposure = pos + get_exposure(symbol, 'rb') + get_exposure(symbol, 'ib')
      delta = qty
    else
      exposure = pos - get_exposure(symbol, 'rs') - get_exposure(symbol, 'is')
      delta = -qty
    end
    local projected = exposure + delta
    if exceeds(math.abs(projected), max_pos) then
      on_risk_rejection(threshold, cooldown)
      return {'no', 'MAX_POSITION_ABS', 'projected', fmt(projected), 'limit', fmt(max_pos)}
    end
  end
  if max_daily then
    local orders = num(redis.call('GET', KEYS[7])) or 0
    if orders >= max_daily then
      on_risk_rejection(threshold, cooldown)
      return {'no', 'MAX_DAILY_ORDERS', 'wouldBe', fmt(orders + 1), 'limit', fmt(max_daily)}
    end
  end
  -- The chain's order: open orders, then the duplicate window, then the throttle (RiskLimits).
  local limited = open_refusal(symbol, max_open) or duplicate_refusal(dup_key, dup_window) or rate_refusal(per_second, per_minute)
  if limited then
    on_risk_rejection(threshold, cooldown)
    return limited
  end
  return nil
end

local function existing_reservation(id)
  local raw = redis.call('HGET', KEYS[3], id)
  if not raw then return nil end
  local rec = cjson.decode(raw)
  return {'ok', id, rec.day, rec.lease, rec.kind}
end

local function take_daily_slot(key, expire_at)
  redis.call('INCR', key)
  redis.call('PEXPIREAT', key, expire_at)
end

local function trading_record()
  local t = redis.call('HMGET', KEYS[11], 'state', 'from', 'source', 'reason', 'time', 'seq')
  if not t[1] then return nil end
  return {'trading', t[1], t[2] or '', t[3] or '', t[4] or '', t[5] or '0', t[6] or '0'}
end

-- A verdict of place, propose or cancel, with the account's trading state appended when it has one.
local function with_trading(reply, record)
  if record then table.insert(reply, record) end
  return reply
end


local function place_verdict()
  local id, symbol, side, qty_text = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  local qty = tonumber(qty_text)
  local max_daily, max_pos, threshold, cooldown, floor = num(ARGV[7]), num(ARGV[8]), num(ARGV[9]), num(ARGV[10]), num(ARGV[11])
  local token, fields_hash, lease_ms, expire_at = ARGV[12], ARGV[13], tonumber(ARGV[14]), ARGV[15]
  -- A replace's growth takes exposure but no daily slot (ARGV[16] = '0').
  local daily_slot = ARGV[16] ~= '0'
  local per_second, per_minute = num(ARGV[17]), num(ARGV[18])
  -- A new order under the duplicate window: its key and the window (both '' otherwise).
  local dup_key, dup_window = ARGV[19] ~= '' and ARGV[19] or nil, num(ARGV[20])
  local max_open = num(ARGV[21])
  if not daily_slot then max_daily, max_open = nil, nil end
  purge_leases()
  local again = existing_reservation(id)
  if again then return again end
  if token ~= '' then
    local raw = redis.call('HGET', KEYS[5], token)
    if not raw then return {'no', 'CONFIRM_TOKEN_INVALID'} end
    redis.call('HDEL', KEYS[5], token)
    redis.call('ZREM', KEYS[6], token)
    local t = cjson.decode(raw)
    local expires = tonumber(t.exp)
    if now >= expires then return {'no', 'CONFIRM_TOKEN_EXPIRED', 'expiredMsAgo', fmt(now - expires), 'ttlMs', t.ttl} end
    if t.hash ~= fields_hash then return {'no', 'CONFIRM_ARGS_MISMATCH'} end
  end
  local blocked = precheck(threshold, floor) or check_limits(symbol, side, qty, max_daily, max_pos, threshold, cooldown, per_second, per_minute, dup_key, dup_window, max_open)
  if blocked then return blocked end
  on_pass(threshold)
  take_rate(id, per_second, per_minute)
  local dup_at = take_duplicate(dup_key, dup_window)
  local slot = '0'
  if daily_slot then
    take_daily_slot(KEYS[7], expire_at)
    slot = '1'
  end
  local field = 'is'
  if side == 'buy' then field = 'ib' end
  set_exposure(symbol, field, get_exposure(symbol, field) + qty)
  local lease = fmt(now + lease_ms)
  redis.call('HSET', KEYS[3], id, cjson.encode({kind = 'place', day = fmt(today), symbol = symbol, side = side, qty = qty_text, lease = lease, slot = slot, dup = dup_at and dup_key, dupAt = dup_at}))
  redis.call('ZADD', KEYS[4], lease, id)
  return {'ok', id, fmt(today), lease, 'place'}
end

local function propose_verdict()
  local token, symbol, side, qty = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
  local max_daily, max_pos, threshold, cooldown, floor = num(ARGV[7]), num(ARGV[8]), num(ARGV[9]), num(ARGV[10]), num(ARGV[11])
  local fields_hash, ttl, max_pending = ARGV[12], tonumber(ARGV[13]), tonumber(ARGV[14])
  if ARGV[15] == '0' then max_daily = nil end
  -- Checked against the throttle, nothing taken: a proposal sends nothing (its confirmation does).
  local per_second, per_minute = num(ARGV[16]), num(ARGV[17])
  -- Checked against the duplicate window, nothing recorded: the confirmation is the order.
  local dup_key, dup_window = ARGV[18] ~= '' and ARGV[18] or nil, num(ARGV[19])
  local max_open = num(ARGV[20])
  if ARGV[15] == '0' then max_open = nil end
  purge_leases()
  local blocked = precheck(threshold, floor) or check_limits(symbol, side, qty, max_daily, max_pos, threshold, cooldown, per_second, per_minute, dup_key, dup_window, max_open)
  if blocked then return blocked end
  -- No pass: a proposal sends nothing, so it neither clears the streak nor closes a HalfOpen
  -- breaker (the chain's rule: only an order that is sent counts; the confirmation is that order).
  if redis.call('HLEN', KEYS[5]) >= max_pending then
    local expired = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', fmt(now))
    for _, t in ipairs(expired) do
      redis.call('HDEL', KEYS[5], t)
      redis.call('ZREM', KEYS[6], t)
    end
    local pending = redis.call('HLEN', KEYS[5])
    if pending >= max_pending then return {'no', 'PENDING_CONFIRM_LIMIT', 'pending', fmt(pending)} end
  end
  local expires = fmt(now + ttl)
  redis.call('HSET', KEYS[5], token, cjson.encode({hash = fields_hash, exp = expires, ttl = fmt(ttl)}))
  redis.call('ZADD', KEYS[6], expires, token)
  return {'token', token, expires}
end

local function cancel_verdict()
  local id, max_cancels, lease_ms, expire_at = ARGV[3], num(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
  local per_second, per_minute = num(ARGV[7]), num(ARGV[8])
  purge_leases()
  local again = existing_reservation(id)
  if again then return again end
  local cancels = num(redis.call('GET', KEYS[8])) or 0
  if max_cancels and cancels >= max_cancels then return {'no', 'MAX_DAILY_CANCELS', 'wouldBe', fmt(cancels + 1), 'limit', fmt(max_cancels)} end
  -- Cancels count in the throttle and never touch the breaker, as in the chain.
  local limited = rate_refusal(per_second, per_minute)
  if limited then return limited end
  take_rate(id, per_second, per_minute)
  take_daily_slot(KEYS[8], expire_at)
  local lease = fmt(now + lease_ms)
  redis.call('HSET', KEYS[3], id, cjson.encode({kind = 'cancel', day = fmt(today), lease = lease}))
  redis.call('ZADD', KEYS[4], lease, id)
  return {'ok', id, fmt(today), lease, 'cancel'}
end

if op == 'place' or op == 'propose' or op == 'cancel' then
  local record = trading_record()
  if op == 'cancel' then return with_trading(cancel_verdict(), record) end
  if record and record[2] == 'HALTED' then return with_trading({'no', 'TRADING_HALTED'}, record) end
  if op == 'place' then return with_trading(place_verdict(), record) end
  return with_trading(propose_verdict(), record)
end

if op == 'trading_set' then
  local state, source, reason, time = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  local from = redis.call('HGET', KEYS[11], 'state') or 'ACTIVE'
  redis.call('HINCRBY', KEYS[11], 'seq', 1)
  redis.call('HSET', KEYS[11], 'state', state, 'from', from, 'source', source, 'reason', reason, 'time', time)
  return trading_record()
end

if op == 'trading_get' then
  return trading_record() or {'trading'}
end

if op == 'settle' then
  local id, outcome, order_id, filled, resting = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  purge_leases()
  local raw = redis.call('HGET', KEYS[3], id)
  if not raw then return {'expired'} end
  if outcome == 'unknown' then return {'settled'} end
  local rec = cjson.decode(raw)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  release_inflight(rec)
  if outcome == 'rejected' then
    if tonumber(rec.day) == today and rec.slot ~= '0' then
      local key = KEYS[7]
      if rec.kind == 'cancel' then key = KEYS[8] end
      if (num(redis.call('GET', key)) or 0) > 0 then redis.call('DECR', key) end
    end
    -- A definitely rejected order never existed: no previous order (unless granted again since).
    if rec.dup and num(redis.call('ZSCORE', KEYS[13], rec.dup)) == tonumber(rec.dupAt) then redis.call('ZREM', KEYS[13], rec.dup) end
    return {'settled'}
  end
  if rec.kind == 'place' then
    local sign, field = -1, 'rs'
    if rec.side == 'buy' then sign, field = 1, 'rb' end
    set_exposure(rec.symbol, 'pos', get_exposure(rec.symbol, 'pos') + sign * filled)
    if resting > 0 then
      set_exposure(rec.symbol, field, get_exposure(rec.symbol, field) + resting)
      -- A replace's growth joins the order's resting quantity under its id.
      local held = redis.call('HGET', KEYS[10], order_id)
      if held then resting = resting + tonumber(cjson.decode(held).remaining) end
      redis.call('HSET', KEYS[10], order_id, cjson.encode({symbol = rec.symbol, side = rec.side, remaining = fmt(resting)}))
    end
  end
  return {'settled'}
end

if op == 'progress' then
  local order_id, filled, closed, now_remaining = ARGV[3], tonumber(ARGV[4]), ARGV[5] == '1', num(ARGV[6])
  local raw = redis.call('HGET', KEYS[10], order_id)
  if not raw then return {'done'} end
  local order = cjson.decode(raw)
  local remaining = tonumber(order.remaining)
  -- A venue push names what still rests: what left it since is counted as filled.
  if now_remaining then filled = math.max(0, remaining - now_remaining) end
  filled = math.min(filled, remaining)
  local sign, field = -1, 'rs'
  if order.side == 'buy' then sign, field = 1, 'rb' end
  set_exposure(order.symbol, 'pos', get_exposure(order.symbol, 'pos') + sign * filled)
  local released = filled
  if closed then released = remaining end
  set_exposure(order.symbol, field, clamp(get_exposure(order.symbol, field) - released))
  remaining = clamp(remaining - released)
  if closed or remaining == 0 then
    redis.call('HDEL', KEYS[10], order_id)
  else
    order.remaining = fmt(remaining)
    redis.call('HSET', KEYS[10], order_id, cjson.encode(order))
  end
  return {'done'}
end

if op == 'reject' then
  on_risk_rejection(num(ARGV[3]), num(ARGV[4]))
  return {'done'}
end

if op == 'pnl' then
  redis.call('HSET', KEYS[9], 'day', fmt(today), 'value', ARGV[3])
  return {'done'}
end

if op == 'reset_breaker' then
  redis.call('HSET', KEYS[1], 'state', 'Closed', 'streak', '0')
  return {'done'}
end

if op == 'reset_daily' then
  redis.call('DEL', KEYS[7], KEYS[8])
  return {'done'}
end

if op == 'snapshot' then
  purge_leases()
  local state, streak, until_ms = breaker_state()
  local openings = redis.call('HGET', KEYS[1], 'openings') or '0'
  local pnl = daily_pnl()
  local pnl_text = ''
  if pnl then pnl_text = fmt(pnl) end
  return {
    fmt(today),
    redis.call('GET', KEYS[7]) or '0',
    redis.call('GET', KEYS[8]) or '0',
    {state, fmt(streak), fmt(until_ms), openings},
    pnl_text,
    redis.call('HGETALL', KEYS[2]),
    redis.call('HGETALL', KEYS[3]),
    fmt(redis.call('ZCOUNT', KEYS[6], '(' .. fmt(now), '+inf')),
  }
end

return redis.error_reply('risk state script: unknown operation ' .. tostring(op))
`;
