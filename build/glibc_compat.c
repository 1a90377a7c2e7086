/*
 * Keeps the native binary loadable on glibc 2.34 (Amazon Linux 2023) when it is built on a newer glibc.
 *
 * The statically linked libpython of the build host calls hypot(), whose default symbol version moved to
 * GLIBC_2.35 (the only symbol above 2.34; build.sh checks every file). The link redirects libpython's
 * calls (-Wl,--wrap=hypot) to __wrap_hypot below, which calls the hypot of the oldest version of the
 * architecture: same function, same results, only the older ABI entry point.
 */
#if defined(__x86_64__)
__asm__(".symver hypot_compat, hypot@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver hypot_compat, hypot@GLIBC_2.17");
#else
#error "unsupported architecture"
#endif

double hypot_compat(double x, double y);

double __wrap_hypot(double x, double y) { return hypot_compat(x, y); }

/*
 * Debian bookworm's libexpat (linked statically into the program when the build's libpython has pyexpat built
 * in, as Debian's Python has on both architectures) calls arc4random_buf@GLIBC_2.36. The link redirects it (-Wl,--wrap=arc4random_buf)
 * here: the same random bytes from getrandom(2), GLIBC_2.25.
 */
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>

void __wrap_arc4random_buf(void *buffer, size_t length) {
    unsigned char *cursor = buffer;
    while (length > 0) {
        ssize_t got = getrandom(cursor, length, 0);
        if (got < 0) {
            abort(); /* arc4random_buf cannot fail; neither may this */
        }
        cursor += got;
        length -= (size_t)got;
    }
}
