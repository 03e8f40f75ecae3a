// Other CPU and GPU miners, by the names and banners their builds carry.

rule cpu_gpu_miner
{
    meta:
        id = "cpu_gpu_miner"
        severity = "CRITICAL"
        description = "a known CPU/GPU miner (cpuminer/minerd, xmr-stak, SRBMiner, lolMiner, NBMiner, T-Rex, PhoenixMiner, ccminer, nanominer)"
        reference = "https://en.wikipedia.org/wiki/Cryptojacking"
    strings:
        $cpuminer1 = "cpuminer-multi" ascii nocase
        $cpuminer2 = "cpuminer-opt" ascii nocase
        $minerd = "Usage: minerd [OPTIONS]" ascii
        $xmrstak1 = "xmr-stak" ascii nocase
        $xmrstak2 = "XMR-Stak" ascii
        $srb = "SRBMiner-MULTI" ascii nocase
        $lol = "lolMiner" ascii
        $nb = "NBMiner" ascii
        $trex1 = "T-Rex NVIDIA GPU miner" ascii nocase
        $trex2 = "trex-miner" ascii nocase
        $phoenix = "PhoenixMiner" ascii
        $ccminer1 = "ccminer" ascii
        $ccminer2 = "Usage: ccminer" ascii
        $nano = "nanominer" ascii
        $ctx1 = "stratum+tcp://" ascii
        $ctx2 = "--algo" ascii
        $ctx3 = "hashrate" ascii nocase
        $ctx4 = "--pool" ascii
        $ctx5 = "mining.subscribe" ascii
    condition:
        any of ($cpuminer*, $minerd, $xmrstak*, $srb, $lol, $nb, $trex*, $phoenix, $ccminer*, $nano) and 2 of ($ctx*)
}

rule randomx_cryptonight_implementation
{
    meta:
        id = "randomx_cryptonight_implementation"
        severity = "HIGH"
        description = "RandomX or CryptoNight proof-of-work code: the Argon2 salts RandomX variants seed their cache with, and CryptoNight variant names, which survive stripping"
        reference = "https://github.com/tevador/RandomX/blob/master/doc/specs.md"
    strings:
        $salt_monero = "RandomX\x03" ascii
        $salt_wownero = "RandomWOW\x01" ascii
        $salt_arqma = "RandomARQ\x01" ascii
        $salt_graft = "RandomGRFT\x01" ascii
        $salt_keva = "RandomKV\x01" ascii
        $cn1 = "cryptonight" ascii nocase
        $cn2 = "cn/half" ascii
        $cn3 = "cn/rwz" ascii
        $cn4 = "cn-lite" ascii
        $cn5 = "cn/gpu" ascii
    condition:
        any of ($salt*) or 3 of ($cn*)
}
