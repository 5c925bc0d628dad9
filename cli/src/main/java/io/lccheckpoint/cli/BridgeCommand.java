package io.lccheckpoint.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.producer.StepFailedException;
import io.lccheckpoint.schema.DType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;

/**
 * {@code lcckpt bridge}: the Java producer driven by another process (the Python client, {@code python/lcckpt}), as
 * PySpark drives its JVM. Requests come as JSON lines on stdin, replies and step outcomes go as JSON lines to stdout;
 * tensor values come through a shared-memory file the client maps too, so a step costs the trainer one copy of its
 * state. One codec and one producer: the chain is the Java producer's, byte for byte.
 *
 * <p>Requests: {@code open {config}}, {@code register {name, shape, dtype}}, {@code map {path, size}},
 * {@code layout {slots: [[[name, offset, bytes], ...], ...]}}, {@code publish {id, step, resume, slot}} (or
 * {@code tensors: [[name, offset, bytes], ...]} in place of {@code slot}), {@code drain}, {@code close}. Replies carry
 * the request's {@code op} and {@code id}: {@code ok}, or {@code error} with the message (naming job, step and tensor as
 * the producer does); a publish answers {@code taken} once its values are copied (the client may reuse its buffer), then
 * {@code committed} or {@code failed}. End of input closes the producer (what was taken still commits) and exits.
 */
@Command(name = "bridge", hidden = true, mixinStandardHelpOptions = true,
        description = "The Java producer for another process (the Python client): JSON lines on stdin and stdout, values through shared memory.")
final class BridgeCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    private CheckpointProducer producer;
    private final Map<String, DType> dtypes = new LinkedHashMap<>();
    private MappedByteBuffer shared;
    /** Per buffer slot, the tensors' places in it ({@code layout}): a publish then names its slot only. */
    private final java.util.List<JsonNode> slots = new java.util.ArrayList<>();

    @Override
    public Integer call() throws IOException {
        // stdout carries the protocol: anything else a library prints goes to stderr
        System.setOut(System.err);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode request = JSON.readTree(line);
            String op = request.path("op").asText();
            long id = request.path("id").asLong(-1);
            try {
                if (handle(op, id, request)) {
                    return 0;
                }
            } catch (RuntimeException | IOException e) {
                send(reply(op, id).put("error", Lcckpt.describe(e)).put("type", e.getClass().getSimpleName()));
            }
        }
        if (producer != null) {
            producer.close();
        }
        return 0;
    }

    /** Handles one request; true when the bridge is to exit. */
    private boolean handle(String op, long id, JsonNode request) throws IOException {
        switch (op) {
            case "open" -> {
                Map<String, Object> config = new HashMap<>();
                request.path("config").fields().forEachRemaining(entry -> config.put(entry.getKey(), entry.getValue().asText()));
                producer = new CheckpointProducer(config);
                send(reply(op, id).put("ok", true).put("generation", producer.generation()));
            }
            case "register" -> {
                long[] shape = new long[request.path("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = request.path("shape").get(i).asLong();
                }
                DType dtype = DType.valueOf(request.path("dtype").asText());
                producer.registerTensor(request.path("name").asText(), shape, dtype);
                dtypes.put(request.path("name").asText(), dtype);
                send(reply(op, id).put("ok", true));
            }
            case "map" -> {
                try (FileChannel channel = FileChannel.open(Path.of(request.path("path").asText()), StandardOpenOption.READ)) {
                    shared = channel.map(FileChannel.MapMode.READ_ONLY, 0, request.path("size").asLong());
                }
                send(reply(op, id).put("ok", true));
            }
            case "layout" -> {
                slots.clear();
                request.path("slots").forEach(slots::add);
                send(reply(op, id).put("ok", true));
            }
            case "publish" -> publish(id, request);
            case "drain" -> {
                producer.drain();
                send(reply(op, id).put("ok", true));
            }
            case "close" -> {
                if (producer != null) {
                    producer.close();
                }
                send(reply(op, id).put("ok", true));
                return true;
            }
            default -> throw new IllegalArgumentException("unknown request '" + op + "'");
        }
        return false;
    }

    private void publish(long id, JsonNode request) {
        long step = request.path("step").asLong();
        Map<String, Object> values = new LinkedHashMap<>();
        JsonNode tensors = request.has("slot") ? slots.get(request.path("slot").asInt()) : request.path("tensors");
        for (JsonNode tensor : tensors) {
            String name = tensor.get(0).asText();
            DType dtype = dtypes.get(name);
            if (dtype == null) {
                throw new IllegalArgumentException("job " + producer.job() + ", step " + step + ", tensor " + name + ": not registered");
            }
            Object value = read(dtype, tensor.get(1).asInt(), tensor.get(2).asInt());
            int bad = firstNotFinite(dtype, value);
            if (bad >= 0) {
                // the encoder would poison the step with it: refused here, before anything of the step is sent
                throw new IllegalArgumentException("job " + producer.job() + ", step " + step + ", tensor " + name
                        + ": holds NaN or an infinity (at flat index " + bad + ")");
            }
            values.put(name, value);
        }
        CompletableFuture<CheckpointProducer.StepReceipt> receipt = request.path("resume").asBoolean(false)
                ? producer.resume(step, values) : producer.publish(step, values);
        send(reply("publish", id).put("taken", true));
        receipt.whenComplete((done, failure) -> {
            if (failure == null) {
                send(reply("publish", id).put("committed", true).put("step", done.step()).put("generation", done.generation())
                        .put("chunks", done.chunks()).put("bytes", done.bytes()));
            } else {
                Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                send(reply("publish", id).put("failed", true).put("step", step).put("error", Lcckpt.describe(cause))
                        .put("fenced", cause instanceof StepFailedException failed && failed.fenced()));
            }
        });
    }

    /** The first index of a floating tensor's values that is NaN or an infinity, or -1 (also for integer dtypes). */
    static int firstNotFinite(DType dtype, Object values) {
        switch (dtype) {
            case FLOAT32 -> {
                float[] floats = (float[]) values;
                for (int i = 0; i < floats.length; i++) {
                    if (!Float.isFinite(floats[i])) {
                        return i;
                    }
                }
            }
            case FLOAT64 -> {
                double[] doubles = (double[]) values;
                for (int i = 0; i < doubles.length; i++) {
                    if (!Double.isFinite(doubles[i])) {
                        return i;
                    }
                }
            }
            case BFLOAT16, FLOAT16 -> {
                // exponent all ones: NaN or an infinity (bfloat16 is float32's upper half; float16 has 5 exponent bits)
                int exponent = dtype == DType.BFLOAT16 ? 0x7F80 : 0x7C00;
                short[] bits = (short[]) values;
                for (int i = 0; i < bits.length; i++) {
                    if ((bits[i] & exponent) == exponent) {
                        return i;
                    }
                }
            }
            default -> {
                return -1;
            }
        }
        return -1;
    }

    /** A tensor's little-endian bytes in the shared buffer, as the array the producer takes for its dtype. */
    private Object read(DType dtype, int offset, int bytes) {
        ByteBuffer view = shared.duplicate().position(offset).limit(offset + bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
        return switch (dtype) {
            case FLOAT32 -> {
                float[] values = new float[bytes / 4];
                view.asFloatBuffer().get(values);
                yield values;
            }
            case FLOAT64 -> {
                double[] values = new double[bytes / 8];
                view.asDoubleBuffer().get(values);
                yield values;
            }
            case BFLOAT16, FLOAT16, INT16 -> {
                short[] values = new short[bytes / 2];
                view.asShortBuffer().get(values);
                yield values;
            }
            case INT32 -> {
                int[] values = new int[bytes / 4];
                view.asIntBuffer().get(values);
                yield values;
            }
            case INT64 -> {
                long[] values = new long[bytes / 8];
                view.asLongBuffer().get(values);
                yield values;
            }
            case INT8, UINT8, BOOL -> {
                byte[] values = new byte[bytes];
                view.get(values);
                yield values;
            }
        };
    }

    private static ObjectNode reply(String op, long id) {
        ObjectNode reply = JSON.createObjectNode();
        reply.put("op", op);
        if (id >= 0) {
            reply.put("id", id);
        }
        return reply;
    }

    private void send(ObjectNode reply) {
        synchronized (out) {
            out.println(reply.toString());
        }
    }
}
