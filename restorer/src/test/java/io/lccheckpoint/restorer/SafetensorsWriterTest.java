package io.lccheckpoint.restorer;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors file holds every value bit for bit, tensors larger than the writer's slice included. */
class SafetensorsWriterTest {
    @TempDir
    Path directory;

    @Test
    void tensorsLargerThanOneSliceAreWrittenBitForBit() throws Exception {
        SplittableRandom random = new SplittableRandom(5);
        float[] big = new float[300_001];
        for (int i = 0; i < big.length; i++) {
            big[i] = Float.intBitsToFloat(random.nextInt());
        }
        double[] wide = new double[140_003];
        for (int i = 0; i < wide.length; i++) {
            wide[i] = Double.longBitsToDouble(random.nextLong());
        }
        Map<String, RestoredState.Tensor> tensors = new LinkedHashMap<>();
        // in chunks, as a restore rebuilds them (one of them larger than the writer's 1 MiB slice)
        tensors.put("big", new RestoredState.Tensor("big", new long[] {big.length}, DType.FLOAT32,
                List.of(java.util.Arrays.copyOfRange(big, 0, 262_144), java.util.Arrays.copyOfRange(big, 262_144, big.length))));
        tensors.put("wide", RestoredState.Tensor.of("wide", new long[] {wide.length}, DType.FLOAT64, wide));
        RestoredState state = new RestoredState("j", 1, 7, tensors, 0, 0, 0, 0, Duration.ZERO, List.of(), 0);
        Path out = directory.resolve("model.safetensors");
        SafetensorsWriter.write(state, out);

        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        long header = file.getLong(0);
        int data = (int) (8 + header);
        assertThat(file.capacity()).isEqualTo(data + 4L * big.length + 8L * wide.length);
        for (int i = 0; i < big.length; i++) {
            if (file.getInt(data + 4 * i) != Float.floatToRawIntBits(big[i])) {
                throw new AssertionError("big[" + i + "] differs");
            }
        }
        int second = data + 4 * big.length;
        for (int i = 0; i < wide.length; i++) {
            if (file.getLong(second + 8 * i) != Double.doubleToRawLongBits(wide[i])) {
                throw new AssertionError("wide[" + i + "] differs");
            }
        }
        // the summary's streamed XXH64 is the state checksum of the whole tensor
        Path summary = directory.resolve("model.json");
        SafetensorsWriter.writeSummary(state, summary);
        assertThat(Files.readString(summary)).contains(String.format("%016x", io.lccheckpoint.codec.Checksums.xxh64(big)))
                .contains(String.format("%016x", io.lccheckpoint.codec.Checksums.xxh64(wide)));
    }
}
