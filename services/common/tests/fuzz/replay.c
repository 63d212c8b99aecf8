/* SPDX-License-Identifier: MIT */
/* replay.c: feeds every file under the given folders (or the given files) to
 * LLVMFuzzerTestOneInput() once, so a plain (gcc) build replays the saved fuzz inputs on every
 * ctest run, the way SQLite's fuzzcheck does. Exits non-zero when there was nothing to replay. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; false when it cannot be read. */
static bool replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;
    size_t n;

    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        fprintf(stderr, "cannot read %s\n", path);
        return false;
    }
    /* An exact-size copy, so ASan sees any read past the end of the input. */
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        free(buf);
        fprintf(stderr, "cannot read %s\n", path);
        return false;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return true;
}

int main(int argc, char **argv)
{
    int replayed = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *dir;
        struct dirent *de;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "no such file or folder: %s\n", argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]))
                replayed++;
            else
                failed++;
            continue;
        }
        dir = opendir(argv[i]);
        while (dir && (de = readdir(dir))) {
            char path[4096];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (replay_file(path))
                replayed++;
            else
                failed++;
        }
        if (dir)
            closedir(dir);
    }
    printf("%s: replayed %d input(s), %d unreadable\n", argc > 0 ? argv[0] : "replay", replayed,
           failed);
    return replayed > 0 && failed == 0 ? 0 : 1;
}
