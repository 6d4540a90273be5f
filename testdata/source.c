/* ringbuf.c - a fixed-size byte ring buffer with a tiny self test.
 *
 * Written for the ssmix test corpus; placed in the public domain.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ringbuf {
    uint8_t *data;
    size_t cap;   /* always a power of two */
    size_t head;  /* next byte to read */
    size_t tail;  /* next byte to write */
};

static size_t next_pow2(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

int ringbuf_init(struct ringbuf *rb, size_t min_cap)
{
    rb->cap = next_pow2(min_cap ? min_cap : 1);
    rb->data = malloc(rb->cap);
    if (rb->data == NULL)
        return -1;
    rb->head = 0;
    rb->tail = 0;
    return 0;
}

void ringbuf_free(struct ringbuf *rb)
{
    free(rb->data);
    rb->data = NULL;
    rb->cap = rb->head = rb->tail = 0;
}

size_t ringbuf_len(const struct ringbuf *rb)
{
    return rb->tail - rb->head;
}

size_t ringbuf_space(const struct ringbuf *rb)
{
    return rb->cap - ringbuf_len(rb);
}

size_t ringbuf_write(struct ringbuf *rb, const uint8_t *src, size_t n)
{
    size_t i;
    if (n > ringbuf_space(rb))
        n = ringbuf_space(rb);
    for (i = 0; i < n; i++)
        rb->data[(rb->tail + i) & (rb->cap - 1)] = src[i];
    rb->tail += n;
    return n;
}

size_t ringbuf_read(struct ringbuf *rb, uint8_t *dst, size_t n)
{
    size_t i;
    if (n > ringbuf_len(rb))
        n = ringbuf_len(rb);
    for (i = 0; i < n; i++)
        dst[i] = rb->data[(rb->head + i) & (rb->cap - 1)];
    rb->head += n;
    return n;
}

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

int main(void)
{
    struct ringbuf rb;
    uint8_t in[300], out[300];
    uint32_t seed = 2463534242u;
    size_t written = 0, read = 0, round;

    if (ringbuf_init(&rb, 100) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (round = 0; round < 1000; round++) {
        size_t want = xorshift32(&seed) % sizeof in;
        size_t i, n;
        for (i = 0; i < want; i++)
            in[i] = (uint8_t)(written + i);
        n = ringbuf_write(&rb, in, want);
        written += n;
        want = xorshift32(&seed) % sizeof out;
        n = ringbuf_read(&rb, out, want);
        for (i = 0; i < n; i++) {
            if (out[i] != (uint8_t)(read + i)) {
                fprintf(stderr, "mismatch at byte %zu\n", read + i);
                ringbuf_free(&rb);
                return 1;
            }
        }
        read += n;
    }
    printf("ok: %zu bytes written, %zu read, %zu left\n", written, read, ringbuf_len(&rb));
    ringbuf_free(&rb);
    return 0;
}
