// Packed executables: a packer hides the strings every rule above looks
// for. Lower severity on its own — some vendors pack their binaries — but
// worth a look in a system image.

rule packed_executable
{
    meta:
        id = "packed_executable"
        severity = "MEDIUM"
        description = "an ELF or PE executable packed with UPX (or a look-alike): packing hides the strings miner rules look for"
        reference = "https://upx.github.io/"
    strings:
        $upx_magic = "UPX!" ascii
        $upx_info = "$Info: This file is packed with the UPX executable packer" ascii
        $upx_id = "$Id: UPX" ascii
        $upx0 = "UPX0\x00" ascii
        $upx1 = "UPX1\x00" ascii
    condition:
        (uint32(0) == 0x464c457f and ($upx_info or $upx_id or #upx_magic >= 2))
        // A PE whose section table names UPX's sections, with its pack
        // header in the headers.
        or (uint16(0) == 0x5a4d and $upx0 in (0..4096) and $upx1 in (0..4096)
            and $upx_magic in (0..4096))
}
