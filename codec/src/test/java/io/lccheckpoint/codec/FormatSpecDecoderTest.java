package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/FORMAT.md is complete enough to decode from: tools/lcdecode.py was written from it alone, and here it must
 * rebuild exactly (bit for bit) what the Java decoder rebuilds, and refuse what the Java decoder refuses. The worked
 * example of FORMAT.md §8 is checked byte for byte against the encoder.
 */
class FormatSpecDecoderTest {
    private static final Path DECODER = Path.of("../tools/lcdecode.py").toAbsolutePath().normalize();
    private static final Path SPEC = Path.of("../docs/FORMAT.md").toAbsolutePath().normalize();

    @TempDir
    Path directory;

    @BeforeAll
    static void python3IsThere() {
        // CI installs python3 (.ci/run); a developer machine without it should say so rather than pass silently
        assertThat(DECODER).exists();
    }

    @Test
    void thePythonDecoderRebuildsWhatTheJavaDecoderRebuilds() throws Exception {
        CodecOptions[] configurations = {CodecOptions.paper(2), CodecOptions.paper(8), CodecOptions.zeroRun(2),
                CodecOptions.zeroRun(5), CodecOptions.exponentOnly()};
        Corpus.Shape[] shapes = {Corpus.Shape.MULTI_SCALE_GAUSSIAN, Corpus.Shape.MOSTLY_ZEROS, Corpus.Shape.CONSTANT, Corpus.Shape.SUBNORMALS};
        Corpus corpus = new Corpus(8);
        List<byte[]> records = new ArrayList<>();
        List<byte[]> previous = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        java.util.Set<Coding> codings = java.util.EnumSet.noneOf(Coding.class);
        for (CodecOptions options : configurations) {
            for (Corpus.Shape shape : shapes) {
                for (int n : new int[] {1, 13, 2000}) {
                    ChunkEncoder encoder = new ChunkEncoder(options);
                    ChunkState floats = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                    encoder.encode(corpus.floats(shape, n), floats);
                    previous.add(bytes(floats.approxFloat()));
                    EncodedChunk chunk = encoder.encode(corpus.floats(shape, n), floats);
                    codings.add(chunk.coding());
                    records.add(chunk.record());
                    expected.add(bytes(floats.approxFloat()));

                    ChunkState doubles = ChunkState.float64(corpus.doubles(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                    previous.add(bytes(doubles.approxDouble()));
                    records.add(encoder.encode(corpus.doubles(shape, n), doubles).record());
                    expected.add(bytes(doubles.approxDouble()));

                    // format version 2: ũ as the type's 2-byte values (FORMAT.md §1, §5)
                    for (ValueType type : EntropyModeContract.SIXTEEN_BIT) {
                        ChunkState halves = EntropyModeContract.sixteenBitState(type, corpus.sixteenBitInitial(n, type));
                        encoder.encode(corpus.sixteenBit(shape, n, type), halves);
                        previous.add(halves.approxLittleEndian().array());
                        EncodedChunk half = encoder.encode(corpus.sixteenBit(shape, n, type), halves);
                        codings.add(half.coding());
                        records.add(half.record());
                        expected.add(halves.approxLittleEndian().array());
                    }
                }
            }
        }
        // format version 3: the exact types, integer deltas (FORMAT.md §4.5)
        ChunkEncoder exactEncoder = new ChunkEncoder(CodecOptions.paper(2));
        for (ValueType type : ExactTypesTest.EXACT) {
            for (Corpus.IntegerShape shape : Corpus.IntegerShape.values()) {
                for (int n : new int[] {1, 13, 2000}) {
                    ChunkState state = ChunkState.exact(type, corpus.integerInitial(n, type));
                    exactEncoder.encode(Corpus.differences(corpus.nextIntegers(shape, state.approxLong(), type), state.approxLong()), state);
                    previous.add(state.approxLittleEndian().array());
                    EncodedChunk chunk = exactEncoder.encode(Corpus.differences(corpus.nextIntegers(shape, state.approxLong(), type), state.approxLong()), state);
                    codings.add(chunk.coding());
                    records.add(chunk.record());
                    expected.add(state.approxLittleEndian().array());
                }
            }
        }
        assertThat(codings).as("every coding is exercised").containsExactlyInAnyOrder(Coding.values());
        List<byte[]> decoded = python(records, previous);
        for (int k = 0; k < records.size(); k++) {
            assertThat(decoded.get(k)).as("case %d", k).isEqualTo(expected.get(k));
        }
    }

    @Test
    void thePythonDecoderRefusesCorruptRecords() throws Exception {
        Corpus corpus = new Corpus(9);
        ChunkState state = ChunkState.float32(new float[500]);
        byte[] record = new ChunkEncoder(CodecOptions.zeroRun(2)).encode(corpus.floats(Corpus.Shape.MOSTLY_ZEROS, 500), state).record();
        byte[] previous = bytes(new float[500]);
        byte[] flipped = record.clone();
        flipped[record.length / 2] ^= 0x10;
        assertThat(python(flipped, previous)).isNull();
        byte[] wrongState = bytes(new float[499]);
        assertThat(python(record, wrongState)).isNull();
        assertThat(python(java.util.Arrays.copyOf(record, record.length - 3), previous)).isNull();

        // a 16-bit record claiming version 1 (FORMAT.md §6, §7)
        ChunkState halves = ChunkState.float16(new float[500]);
        byte[] half = new ChunkEncoder(CodecOptions.zeroRun(2)).encode(corpus.sixteenBit(Corpus.Shape.MOSTLY_ZEROS, 500, ValueType.FLOAT16), halves).record();
        byte[] halfPrevious = new byte[1000];
        assertThat(python(half, halfPrevious)).isNotNull();
        byte[] versionOne = half.clone();
        versionOne[RecordFormat.OFFSET_VERSION] = 1;
        assertThat(python(Records.resign(versionOne), halfPrevious)).isNull();

        // an exact record claiming version 2, with promotion bits, or with a bool leaving 0 and 1 (FORMAT.md §4.5, §6)
        ChunkState flags = ChunkState.exact(ValueType.BOOL, new long[500]);
        long[] flip = new long[500];
        flip[7] = 1;
        byte[] bool = new ChunkEncoder(CodecOptions.paper(2)).encode(flip, flags).record();
        byte[] boolPrevious = new byte[500];
        assertThat(python(bool, boolPrevious)).isNotNull();
        byte[] versionTwo = bool.clone();
        versionTwo[RecordFormat.OFFSET_VERSION] = 2;
        assertThat(python(Records.resign(versionTwo), boolPrevious)).isNull();
        byte[] promoted = bool.clone();
        promoted[RecordFormat.OFFSET_PROMOTION_BITS] = 1;
        assertThat(python(Records.resign(promoted), boolPrevious)).isNull();
        byte[] alreadyTrue = new byte[500];
        alreadyTrue[7] = 1;
        assertThat(python(bool, alreadyTrue)).as("1 + 1 is no bool").isNull();
    }

    @Test
    void theWorkedExampleOfTheSpecIsWhatTheEncoderWrites() throws IOException {
        float[] delta = {1.5f, 0.001f, -0.25f, 1.25f, 0f, 0f, 1.75f, 0.002f};
        ChunkState state = ChunkState.float32(new float[8]);
        byte[] record = new ChunkEncoder(CodecOptions.paper(1)).encode(delta, state).record();
        assertThat(record).hasSize(36);
        assertThat(state.residualFloat()).containsExactly(0f, 0.001f, -0.25f, -0.25f, 0f, 0f, 0.25f, 0.002f);
        assertThat(workedExampleBytes()).isEqualTo(HexFormat.ofDelimiter(" ").formatHex(record));
    }

    /** The hex bytes of the listing in FORMAT.md §8 (the first column of each line of its code block). */
    private static String workedExampleBytes() throws IOException {
        List<String> lines = Files.readAllLines(SPEC, StandardCharsets.UTF_8);
        int section = lines.indexOf("## 8. A worked example");
        List<String> bytes = new ArrayList<>();
        boolean inBlock = false;
        for (String line : lines.subList(section, lines.size())) {
            if (line.startsWith("```")) {
                if (inBlock) {
                    break;
                }
                inBlock = true;
                continue;
            }
            if (inBlock) {
                for (String token : line.trim().split("\\s+")) {
                    if (!token.matches("[0-9a-f]{2}")) {
                        break;
                    }
                    bytes.add(token);
                }
            }
        }
        return String.join(" ", bytes);
    }

    /** Runs the spec decoder on one record; returns the reconstruction's bytes, or null if it refused the record. */
    private byte[] python(byte[] record, byte[] previous) throws Exception {
        return python(List.of(record), List.of(previous)).get(0);
    }

    /** One run of the spec decoder over many records; null where it refused one (with the reason it must print). */
    private List<byte[]> python(List<byte[]> records, List<byte[]> previous) throws Exception {
        List<String> command = new ArrayList<>(List.of("python3", DECODER.toString()));
        List<Path> outputs = new ArrayList<>();
        for (int k = 0; k < records.size(); k++) {
            Path out = directory.resolve("out-" + k + ".bin");
            Files.deleteIfExists(out);
            command.add(Files.write(directory.resolve("record-" + k + ".bin"), records.get(k)).toString());
            command.add(Files.write(directory.resolve("previous-" + k + ".bin"), previous.get(k)).toString());
            command.add(out.toString());
            outputs.add(out);
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("python decoder finished").isTrue();
        assertThat(process.exitValue()).as(output).isIn(0, 1);
        List<byte[]> results = new ArrayList<>();
        for (Path out : outputs) {
            results.add(Files.exists(out) ? Files.readAllBytes(out) : null);
        }
        if (results.contains(null)) {
            assertThat(output).contains("malformed record at byte");
        }
        return results;
    }

    private static byte[] bytes(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return buffer.array();
    }

    private static byte[] bytes(double[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asDoubleBuffer().put(values);
        return buffer.array();
    }
}
