// Packed executables: a packer hides the strings every rule above looks
// for. Lower severity on its own — some vendors pack their binaries — but
// worth a look in a system image.

rule packed_executable
{
    meta:
        id = "packed_executable"
        severity = "MEDIUM"
        description = "an ELF executable packed with UPX (or a look-alike): packing hides the strings miner rules look for"
        reference = "https://upx.github.io/"
    strings:
        $upx_magic = "UPX!" ascii
        $upx_info = "$Info: This file is packed with the UPX executable packer" ascii
        $upx_id = "$Id: UPX" ascii
    condition:
        uint32(0) == 0x464c457f and ($upx_info or $upx_id or #upx_magic >= 2)
}
