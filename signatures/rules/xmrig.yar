// XMRig and its forks (including renamed and stripped builds): the
// strings that survive renaming — version and user-agent banners, config
// keys, algorithm names and the embedded help text.

rule xmrig_miner
{
    meta:
        id = "xmrig_miner"
        severity = "CRITICAL"
        description = "XMRig cryptocurrency miner (or a fork): banner, config keys, algorithms and help text"
        reference = "https://xmrig.com/docs/miner/command-line-options"
    strings:
        $banner1 = "XMRig/" ascii
        $banner2 = "xmrig.com" ascii
        $banner3 = "XMRIG_VERSION" ascii
        $key1 = "donate-level" ascii
        $key2 = "max-threads-hint" ascii
        $key3 = "\"randomx\"" ascii
        $key4 = "donate-over-proxy" ascii
        $key5 = "\"huge-pages\"" ascii
        $key6 = "\"cpu-max-threads-hint\"" ascii
        $algo1 = "rx/0" ascii
        $algo2 = "cn/r" ascii
        $algo3 = "cn-heavy" ascii
        $algo4 = "rx/wow" ascii
        $algo5 = "argon2/chukwa" ascii
        $help1 = "--donate-level=N" ascii
        $help2 = "mining algorithm https://xmrig.com/docs/algorithms" ascii
        $help3 = "--cpu-max-threads-hint" ascii
    condition:
        any of ($banner*) and 2 of ($key*, $algo*, $help*)
        or 3 of ($key*) and 2 of ($algo*)
        or 2 of ($help*)
}

rule xmrig_config
{
    meta:
        id = "xmrig_config"
        severity = "HIGH"
        description = "XMRig JSON configuration: pools with url/user/pass and miner tuning keys"
        reference = "https://xmrig.com/docs/miner/config"
    strings:
        $pools = "\"pools\"" ascii
        $url = "\"url\"" ascii
        $user = "\"user\"" ascii
        $pass = "\"pass\"" ascii
        $k1 = "\"donate-level\"" ascii
        $k2 = "\"randomx\"" ascii
        $k3 = "\"max-threads-hint\"" ascii
        $k4 = "\"rig-id\"" ascii
        $k5 = "\"nicehash\"" ascii
        $k6 = "\"keepalive\"" ascii
    condition:
        filesize < 2MB and $pools and $url and $user and $pass and 2 of ($k*)
}
