package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The codec's output is a pure function of its inputs (DESIGN.md §2): identical bytes across repeated runs, encoder
 * reuse, threads, and JDKs. The golden file holds SHA-256s of the encoded bytes of a fixed corpus, produced once and
 * checked in; CI runs this test on JDK 17 and on JDK 25. Regenerate only for a deliberate format change, with
 * {@code mvn -pl codec test -Dtest=DeterminismTest -Dlcckpt.golden.update=true}, and say so in the commit.
 */
class DeterminismTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden-sha256.txt");
    private static final int STEPS = 6;
    private static final int[] SIZES = {1, 7, 1000, 65_539};

    private static final Map<String, CodecOptions> CONFIGURATIONS = new LinkedHashMap<>();

    static {
        CONFIGURATIONS.put("huffman-2", CodecOptions.paper(2));
        CONFIGURATIONS.put("huffman-3", CodecOptions.paper(3));
        CONFIGURATIONS.put("huffman-8", CodecOptions.paper(8));
        CONFIGURATIONS.put("zero-run-1", CodecOptions.zeroRun(1));
        CONFIGURATIONS.put("zero-run-2", CodecOptions.zeroRun(2));
        CONFIGURATIONS.put("zero-run-3", CodecOptions.zeroRun(3));
        CONFIGURATIONS.put("exponent-only", CodecOptions.exponentOnly());
        CONFIGURATIONS.put("huffman-2-table-cache", CodecOptions.paper(2).withCodeTableReuse(true));
    }

    /** name → SHA-256 of every record of the corpus chains, plus the corpus itself (to tell a generator change apart). */
    static Map<String, String> digests(ChunkEncoder[] encoders) {
        Map<String, String> digests = new LinkedHashMap<>();
        digests.put("corpus", hex(corpusDigest()));
        int e = 0;
        for (Map.Entry<String, CodecOptions> configuration : CONFIGURATIONS.entrySet()) {
            ChunkEncoder encoder = encoders == null ? new ChunkEncoder(configuration.getValue()) : encoders[e++];
            for (boolean float64 : new boolean[] {false, true}) {
                MessageDigest sha = sha256();
                for (int n : SIZES) {
                    for (Corpus.Shape shape : Corpus.Shape.values()) {
                        Corpus corpus = new Corpus(n * 31L + shape.ordinal());
                        if (float64) {
                            ChunkState state = ChunkState.float64(corpus.doubles(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                            for (int step = 0; step < STEPS; step++) {
                                sha.update(encoder.encode(corpus.doubles(shape, n), state).record());
                            }
                        } else {
                            ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                            for (int step = 0; step < STEPS; step++) {
                                sha.update(encoder.encode(corpus.floats(shape, n), state).record());
                            }
                        }
                    }
                }
                digests.put(configuration.getKey() + (float64 ? "/float64" : "/float32"), hex(sha.digest()));
            }
            for (ValueType type : EntropyModeContract.SIXTEEN_BIT) {
                MessageDigest sha = sha256();
                for (int n : SIZES) {
                    for (Corpus.Shape shape : Corpus.Shape.values()) {
                        Corpus corpus = new Corpus(n * 31L + shape.ordinal());
                        ChunkState state = EntropyModeContract.sixteenBitState(type, corpus.sixteenBitInitial(n, type));
                        for (int step = 0; step < STEPS; step++) {
                            sha.update(encoder.encode(corpus.sixteenBit(shape, n, type), state).record());
                        }
                    }
                }
                digests.put(configuration.getKey() + "/" + type.name().toLowerCase(java.util.Locale.ROOT), hex(sha.digest()));
            }
        }
        // exact types (format version 3): no options apply; one chain per type, coded by a used encoder when given
        ChunkEncoder exactEncoder = encoders == null ? new ChunkEncoder(CodecOptions.paper(2)) : encoders[0];
        for (ValueType type : ExactTypesTest.EXACT) {
            MessageDigest sha = sha256();
            for (int n : SIZES) {
                for (Corpus.IntegerShape shape : Corpus.IntegerShape.values()) {
                    Corpus corpus = new Corpus(n * 37L + shape.ordinal());
                    long[] values = corpus.integerInitial(n, type);
                    ChunkState state = ChunkState.exact(type, values);
                    for (int step = 0; step < STEPS; step++) {
                        long[] next = corpus.nextIntegers(shape, state.approxLong(), type);
                        sha.update(exactEncoder.encode(Corpus.differences(next, state.approxLong()), state).record());
                    }
                }
            }
            digests.put("exact/" + type.name().toLowerCase(java.util.Locale.ROOT), hex(sha.digest()));
        }
        return digests;
    }

    private static byte[] corpusDigest() {
        MessageDigest sha = sha256();
        for (int n : SIZES) {
            for (Corpus.Shape shape : Corpus.Shape.values()) {
                Corpus corpus = new Corpus(n * 31L + shape.ordinal());
                ByteBuffer buffer = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                buffer.asFloatBuffer().put(corpus.floats(shape, n));
                sha.update(buffer.array());
            }
        }
        return sha.digest();
    }

    @Test
    void encodedBytesMatchTheCheckedInGoldenHashes() throws IOException {
        Map<String, String> actual = digests(null);
        if (Boolean.getBoolean("lcckpt.golden.update")) {
            StringBuilder text = new StringBuilder("# SHA-256 of the encoded corpus (DeterminismTest); format versions 1 (float32, float64), 2 (bfloat16, float16) and 3 (exact types)\n");
            actual.forEach((name, digest) -> text.append(name).append(' ').append(digest).append('\n'));
            Files.writeString(GOLDEN, text.toString(), StandardCharsets.UTF_8);
        }
        Map<String, String> golden = golden();
        assertThat(actual.get("corpus")).as("the test corpus generator changed, not the codec").isEqualTo(golden.get("corpus"));
        assertThat(actual).as("encoded bytes on " + Runtime.version()).isEqualTo(golden);
    }

    /** Encoders that coded every configuration once code it again to the checked-in bytes: no state leaks between chunks. */
    @Test
    void reusedEncodersGiveTheSameBytesAsFreshOnes() throws IOException {
        ChunkEncoder[] reused = CONFIGURATIONS.values().stream().map(ChunkEncoder::new).toArray(ChunkEncoder[]::new);
        Map<String, String> golden = golden();
        assertThat(digests(reused)).isEqualTo(golden);
        assertThat(digests(reused)).isEqualTo(golden);
    }

    /** Two threads coding the corpus at once (one encoder each, as the producer's pool does) give the checked-in bytes. */
    @Test
    void concurrentEncodingGivesTheSameBytes() throws Exception {
        Map<String, String> golden = golden();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Map<String, String>>> results = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                results.add(pool.submit(() -> digests(null)));
            }
            for (Future<Map<String, String>> result : results) {
                assertThat(result.get()).isEqualTo(golden);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static Map<String, String> golden() throws IOException {
        Map<String, String> golden = new LinkedHashMap<>();
        for (String line : Files.readAllLines(GOLDEN, StandardCharsets.UTF_8)) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] parts = line.trim().split("\\s+");
                golden.put(parts[0], parts[1]);
            }
        }
        return golden;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
