/* A harmless program for the UPX unpacker's tests: packed by make.sh with
 * each method, it must unpack to exactly the binary built from this. */
#include <stdio.h>

static const char *greeting = "hello from an unpacked program";

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        printf("%s: %s\n", greeting, argv[i]);
    }
    return argc > 1 ? 0 : 1;
}
