// Droppers and miner-killers in shell scripts: fetch-and-run pipelines that
// install a miner, killing competing miners, disabling security tools and
// shell history, and locking their own files with chattr.

rule miner_dropper_script
{
    meta:
        id = "miner_dropper_script"
        severity = "CRITICAL"
        description = "a shell script that downloads and runs a miner, kills competing miners, or hides itself (history, security tools, chattr +i)"
        reference = "https://www.trendmicro.com/en_us/research/20/i/the-evolution-of-malicious-shell-scripts.html"
    strings:
        $fetch1 = /(curl|wget)[^\n|;]{0,200}\|\s*(ba)?sh/ ascii
        $fetch2 = /(curl|wget)[^\n]{0,200}(-o|-O)\s*\S+[^\n]{0,200}chmod\s+\+x/ ascii
        $miner1 = "xmrig" ascii nocase
        $miner2 = "minerd" ascii
        $miner3 = "stratum+tcp" ascii
        $miner4 = "donate-level" ascii
        $kill1 = "kdevtmpfsi" ascii
        $kill2 = "kinsing" ascii
        $kill3 = /pkill\s+-9?\s*-f\s+(xmr|miner|kworkerds|kthreaddi|sysupdate|networkservice)/ ascii nocase
        $kill4 = "kworkerds" ascii
        $kill5 = "sysguard" ascii
        $kill6 = /netstat\s+-anp\s*\|\s*grep\s+:?(3333|4444|5555|7777|14444)/ ascii
        $hide1 = "history -c" ascii
        $hide2 = "unset HISTFILE" ascii
        $hide3 = "HISTFILE=/dev/null" ascii
        $hide4 = /chattr\s+[+-]i/ ascii
        $hide5 = "setenforce 0" ascii
        $hide6 = /systemctl\s+(stop|disable)\s+(aliyun|aegis|firewalld|apparmor|cloudmonitor)/ ascii
        $hide7 = "ufw disable" ascii
        $hide8 = "/etc/ld.so.preload" ascii
    condition:
        filesize < 5MB and (
            (any of ($fetch*) and any of ($miner*))
            or 2 of ($kill*)
            or (any of ($kill*) and any of ($hide*))
            or (3 of ($hide*) and any of ($fetch*, $miner*))
        )
}
