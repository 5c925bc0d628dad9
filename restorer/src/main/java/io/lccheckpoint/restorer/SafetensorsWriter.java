package io.lccheckpoint.restorer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Writes a restored state as safetensors (readable by PyTorch's {@code safetensors.torch.load_file}): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then the little-endian
 * data; and a JSON summary next to it. Both are written to temporary files and moved into place.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SafetensorsWriter() {
    }

    public static void write(RestoredState state, Path out) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode metadata = header.putObject("__metadata__");
        metadata.put("job", state.job());
        metadata.put("generation", Long.toString(state.generation()));
        metadata.put("step", Long.toString(state.step()));
        metadata.put("format", "pt");
        long offset = 0;
        for (RestoredState.Tensor tensor : state.tensors().values()) {
            long bytes = byteSize(tensor);
            ObjectNode entry = header.putObject(tensor.name());
            entry.put("dtype", DTypes.safetensorsTag(tensor.dtype()));
            var shape = entry.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = new ObjectMapper().writeValueAsBytes(header);
        // the data starts 8-byte aligned: pad the header with spaces, as the format allows
        int padded = (headerBytes.length + 7) & ~7;
        byte[] headerPadded = Arrays.copyOf(headerBytes, padded);
        Arrays.fill(headerPadded, headerBytes.length, padded, (byte) ' ');

        Path temporary = Files.createTempFile(out.toAbsolutePath().getParent(), out.getFileName().toString(), ".tmp");
        try (OutputStream stream = Files.newOutputStream(temporary)) {
            stream.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            stream.write(headerPadded);
            for (RestoredState.Tensor tensor : state.tensors().values()) {
                forEachSlice(tensor, (bytes, length) -> stream.write(bytes, 0, length));
            }
        }
        Files.move(temporary, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The JSON summary: what was restored, from what, and checksums of each tensor (XXH64 of its little-endian bytes). */
    public static void writeSummary(RestoredState state, Path out) throws IOException {
        ObjectNode summary = JSON.createObjectNode();
        summary.put("job", state.job());
        summary.put("generation", state.generation());
        summary.put("step", state.step());
        summary.put("superstep", state.superstep());
        summary.put("deltasApplied", state.deltasApplied());
        summary.put("recordsRead", state.recordsRead());
        summary.put("bytesRead", state.bytesRead());
        summary.put("restoreMillis", state.elapsed().toMillis());
        var passedOver = summary.putArray("passedOver");
        state.passedOver().forEach(passedOver::add);
        var tensors = summary.putArray("tensors");
        for (RestoredState.Tensor tensor : state.tensors().values()) {
            ObjectNode entry = tensors.addObject();
            entry.put("name", tensor.name());
            entry.put("dtype", tensor.dtype().name());
            // how the chunks were coded: "exact" (integers, bool), the tensor's own options, or the job's ("job")
            entry.put("codec", tensor.codec() != null ? tensor.codec() : "job");
            var shape = entry.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
            // XXH64 (seed 0) of the tensor's little-endian bytes (docs/FORMAT.md §5), streamed: no copy of the tensor
            try (StreamingXXHash64 hash = XXHashFactory.fastestJavaInstance().newStreamingHash64(0)) {
                forEachSlice(tensor, (bytes, length) -> hash.update(bytes, 0, length));
                entry.put("xxh64", String.format("%016x", hash.getValue()));
            }
        }
        Files.write(out, JSON.writeValueAsString(summary).getBytes(StandardCharsets.UTF_8));
    }

    private static long byteSize(RestoredState.Tensor tensor) {
        return (long) DTypes.bytesPerValue(tensor.dtype()) * tensor.length();
    }

    private interface SliceConsumer {
        void accept(byte[] bytes, int length) throws IOException;
    }

    /** The tensor's little-endian bytes in slices of at most 1 MiB, chunk by chunk (a whole copy would double the heap). */
    private static void forEachSlice(RestoredState.Tensor tensor, SliceConsumer consumer) throws IOException {
        ByteBuffer slice = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        boolean sixteenBit = tensor.dtype() == DType.BFLOAT16 || tensor.dtype() == DType.FLOAT16;
        for (Object chunk : tensor.chunks()) {
            if (sixteenBit) {
                // float32 values of the type: written as the type's bits (exact, they are values of the type)
                short[] bits = SixteenBitFloats.toBits(ValueType.valueOf(tensor.dtype().name()), (float[]) chunk);
                for (int from = 0; from < bits.length; from += slice.capacity() / 2) {
                    int n = Math.min(slice.capacity() / 2, bits.length - from);
                    slice.clear().asShortBuffer().put(bits, from, n);
                    consumer.accept(slice.array(), 2 * n);
                }
            } else if (chunk instanceof long[] values) {
                // an integer or bool tensor: the canonical longs in the dtype's width (two's complement, little-endian)
                int width = DTypes.bytesPerValue(tensor.dtype());
                for (int from = 0; from < values.length; from += slice.capacity() / 8) {
                    int n = Math.min(slice.capacity() / 8, values.length - from);
                    slice.clear();
                    for (int i = from; i < from + n; i++) {
                        switch (width) {
                            case 1 -> slice.put((byte) values[i]);
                            case 2 -> slice.putShort((short) values[i]);
                            case 4 -> slice.putInt((int) values[i]);
                            default -> slice.putLong(values[i]);
                        }
                    }
                    consumer.accept(slice.array(), width * n);
                }
            } else if (chunk instanceof float[] values) {
                for (int from = 0; from < values.length; from += slice.capacity() / 4) {
                    int n = Math.min(slice.capacity() / 4, values.length - from);
                    slice.clear().asFloatBuffer().put(values, from, n);
                    consumer.accept(slice.array(), 4 * n);
                }
            } else {
                double[] values = (double[]) chunk;
                for (int from = 0; from < values.length; from += slice.capacity() / 8) {
                    int n = Math.min(slice.capacity() / 8, values.length - from);
                    slice.clear().asDoubleBuffer().put(values, from, n);
                    consumer.accept(slice.array(), 8 * n);
                }
            }
        }
    }
}
