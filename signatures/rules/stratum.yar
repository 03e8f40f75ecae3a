// The stratum mining protocol, pool hosts and Monero wallets, in binaries,
// configs and scripts alike.

rule stratum_protocol
{
    meta:
        id = "stratum_protocol"
        severity = "HIGH"
        description = "speaks the stratum mining protocol: stratum URLs, mining.subscribe / mining.authorize, or a JSON-RPC login with an agent"
        reference = "https://braiins.com/stratum-v1/docs"
    strings:
        $url1 = "stratum+tcp://" ascii nocase
        $url2 = "stratum+ssl://" ascii nocase
        $url3 = "stratum+tls://" ascii nocase
        $url4 = "stratum2+tcp://" ascii nocase
        $m1 = "mining.subscribe" ascii
        $m2 = "mining.authorize" ascii
        $m3 = "mining.notify" ascii
        $m4 = "mining.submit" ascii
        $login = /"method"\s*:\s*"login"/ ascii
        $agent = /"agent"\s*:\s*"/ ascii
    condition:
        any of ($url*) or 2 of ($m*) or ($login and $agent)
}

rule mining_pool_host
{
    meta:
        id = "mining_pool_host"
        severity = "HIGH"
        description = "names a well-known cryptocurrency mining pool host (HIGH with a port, a stratum URL, a miner config, a wallet or a miner in the same file; LOW alone)"
        reference = "https://miningpoolstats.stream/monero"
    strings:
        $p1 = "supportxmr.com" ascii nocase
        $p2 = "minexmr.com" ascii nocase
        $p3 = "xmrpool.eu" ascii nocase
        $p4 = "moneroocean.stream" ascii nocase
        $p5 = "nanopool.org" ascii nocase
        $p6 = "2miners.com" ascii nocase
        $p7 = "f2pool.com" ascii nocase
        $p8 = "c3pool.com" ascii nocase
        $p9 = "hashvault.pro" ascii nocase
        $p10 = "herominers.com" ascii nocase
        $p11 = "minergate.com" ascii nocase
        $p12 = "nicehash.com" ascii nocase
        $p13 = "unmineable.com" ascii nocase
        $p14 = "xmrfast.com" ascii nocase
        $p15 = "monerohash.com" ascii nocase
        $p16 = "dwarfpool.com" ascii nocase
        $p17 = "ethermine.org" ascii nocase
        $p18 = "hashcity.org" ascii nocase
    condition:
        any of them
}

rule monero_wallet_address
{
    meta:
        id = "monero_wallet_address"
        severity = "HIGH"
        description = "carries a Monero wallet address (standard, subaddress or integrated) that decodes with a valid Keccak checksum, as miner configs and droppers do"
        reference = "https://monerodocs.org/public-address/standard-address/"
    strings:
        // Standard (95) and subaddress addresses, integrated (106); base58
        // without 0, O, I, l, bounded by non-base58 bytes.
        $standard = /(^|[^1-9A-HJ-NP-Za-km-z])[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}([^1-9A-HJ-NP-Za-km-z]|$)/ ascii
        $integrated = /(^|[^1-9A-HJ-NP-Za-km-z])4[0-9AB][1-9A-HJ-NP-Za-km-z]{104}([^1-9A-HJ-NP-Za-km-z]|$)/ ascii
    condition:
        any of them
}
