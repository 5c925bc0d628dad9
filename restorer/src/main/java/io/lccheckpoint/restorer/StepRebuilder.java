package io.lccheckpoint.restorer;

import io.lccheckpoint.codec.BitPatterns;
import io.lccheckpoint.codec.Checksums;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecException;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Rebuilds one complete step from a {@link CheckpointIndex} (DESIGN.md §4): checks the manifest (sane shapes that fit in
 * the heap), rebuilds each chunk from its newest usable superstep and the coded records after it, chain-checked and
 * proven by the records' checksums, chunks in parallel, and checks the step's digest against its marker. A step that
 * cannot be rebuilt is a {@link RestoreException} naming the job, step, tensor and chunk.
 */
final class StepRebuilder {
    private StepRebuilder() {
    }

    static RestoredState rebuildStep(String job, CheckpointIndex index, long generation, long step, Restorer.Progress progress, long start,
                                             List<String> passedOver, int threads) {
        StepManifest manifest = index.manifests.get(List.of(generation, step));
        if (manifest == null) {
            throw new RestoreException("job " + job + ": the manifest of generation " + generation + " step " + step + " is missing");
        }
        String altered = io.lccheckpoint.schema.StepDigest.checkManifest(manifest);
        if (altered != null) {
            throw new RestoreException("job " + job + ": " + altered);
        }
        checkFits(job, step, manifest, index.target != null ? index.heldSuperstepBytes(generation) : 0);
        StepComplete marker = index.markers.get(generation).get(step);
        long chunks = manifest.getTensors().stream().mapToLong(TensorInfo::getChunkCount).sum();
        if (marker != null && marker.getChunks() != chunks) {
            throw new RestoreException("job " + job + ": step " + step + "'s marker counts " + marker.getChunks() + " coded chunks, its manifest "
                    + chunks + ": they do not describe the same step");
        }
        try {
            RestoredState state = rebuildStep(job, index, manifest, generation, step, progress, start, passedOver, threads);
            if (marker != null && marker.getDigest() != null && state.digest() != marker.getDigest()) {
                throw new RestoreException(String.format("job %s: step %d rebuilt to content digest %016x, but the encoder recorded %016x for it:"
                        + " a record of the step is not the one the encoder wrote", job, step, state.digest(), marker.getDigest()));
            }
            return state;
        } catch (OutOfMemoryError e) {
            throw new RestoreException("job " + job + ": step " + step + " needs about " + neededBytes(manifest) / (1 << 20) + " MiB of heap for its "
                    + "values, and more to read them; this JVM ran out at -Xmx" + Runtime.getRuntime().maxMemory() / (1 << 20) + "m: run it with a larger"
                    + " -Xmx (JAVA_TOOL_OPTIONS=-Xmx...)", e);
        }
    }

    /** Bytes of the restored values: what a manifest's shapes ask the restorer to allocate. */
    private static long neededBytes(StepManifest manifest) {
        long bytes = 0;
        for (TensorInfo info : manifest.getTensors()) {
            long length = 1;
            for (long dimension : info.getShape()) {
                length *= dimension;
            }
            // held as the codec keeps them: float arrays for the 16-bit types, long arrays for the exact types
            bytes += length * (DTypes.isExact(info.getDtype()) ? 8 : Math.max(4, DTypes.bytesPerValue(info.getDtype())));
        }
        return bytes;
    }

    /**
     * Before anything is allocated from a manifest's shapes: they must be sane, agree with the chunking, and fit in this
     * JVM's heap (a clear error with the size needed, not an OutOfMemoryError).
     */
    private static void checkFits(String job, long step, StepManifest manifest, long released) {
        for (TensorInfo info : manifest.getTensors()) {
            long length = 1;
            for (long dimension : info.getShape()) {
                if (dimension < 0 || (dimension > 0 && length > Integer.MAX_VALUE / dimension)) {
                    throw new RestoreException("job " + job + ", step " + step + ", tensor " + info.getName() + ": the manifest's shape " + info.getShape()
                            + " is not a tensor this restorer can hold (negative, or more than 2^31 values)");
                }
                length *= dimension;
            }
            long chunks = info.getChunkCount();
            if (info.getChunkSize() <= 0 || chunks < 0 || (chunks - 1) * (long) info.getChunkSize() >= Math.max(1, length)
                    || chunks * (long) info.getChunkSize() < length) {
                throw new RestoreException("job " + job + ", step " + step + ", tensor " + info.getName() + ": the manifest's shape " + info.getShape()
                        + " does not agree with its " + chunks + " chunks of " + info.getChunkSize() + " values");
            }
        }
        // what the restore adds to the heap: the values, less the superstep bytes a targeted read releases as it goes
        long needed = Math.max(0, neededBytes(manifest) - released);
        Runtime runtime = Runtime.getRuntime();
        long available = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
        if (needed > available) {
            System.gc();
            available = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
        }
        if (needed > available) {
            throw new RestoreException("job " + job + ": step " + step + " needs " + needed / (1 << 20) + " MiB of heap for its values, but only "
                    + available / (1 << 20) + " MiB of -Xmx" + runtime.maxMemory() / (1 << 20) + "m are free: run with a larger -Xmx"
                    + " (JAVA_TOOL_OPTIONS=-Xmx...)");
        }
    }

    /** A chunk to rebuild: its supersteps and coded records (of the generation), taken out of the index. */
    private record ChunkWork(TensorInfo info, int chunk, long length, String where, NavigableMap<Long, SuperstepChunk> supersteps,
                             NavigableMap<Long, EncodedChunkRecord> encoded) {
    }

    /** A rebuilt chunk: its values, the superstep it started from, the records applied, corrupt supersteps passed over. */
    private record Rebuilt(Object values, long base, long deltas, long digest, List<String> corrupt) {
    }

    /**
     * Rebuilds every chunk of the step, {@code threads} at a time. Chunks are independent and each is rebuilt as the
     * sequential loop would (the same records in the same order), and the results are taken in manifest order: the
     * values, the digest and the first error reported do not depend on the thread count.
     */
    private static RestoredState rebuildStep(String job, CheckpointIndex index, StepManifest manifest, long generation, long step, Restorer.Progress progress,
                                             long start, List<String> passedOver, int threads) {
        Map<String, RestoredState.Tensor> tensors = new LinkedHashMap<>();
        long totalChunks = manifest.getTensors().stream().mapToLong(TensorInfo::getChunkCount).sum();
        index.corruptSupersteps.forEach(reason -> passedOver.add(reason + ": rebuilt from an older superstep"));
        java.util.concurrent.ExecutorService pool = threads == 1 ? null : java.util.concurrent.Executors.newFixedThreadPool(threads, runnable -> {
            Thread thread = new Thread(runnable, "lcckpt-restore-" + job);
            thread.setDaemon(true);
            return thread;
        });
        ThreadLocal<ChunkDecoder> decoders = ThreadLocal.withInitial(ChunkDecoder::new);
        try {
            List<java.util.concurrent.Future<Rebuilt>> pending = new ArrayList<>();
            List<ChunkWork> work = new ArrayList<>();
            for (TensorInfo info : manifest.getTensors()) {
                long length = 1;
                for (Long dimension : info.getShape()) {
                    length *= dimension;
                }
                for (int chunk = 0; chunk < info.getChunkCount(); chunk++) {
                    String key = CheckpointIndex.chunkKey(info.getName(), chunk, generation);
                    // a targeted read rebuilds this step only: the superstep's bytes go with the task once it has run
                    NavigableMap<Long, SuperstepChunk> supersteps = index.target != null ? index.supersteps.remove(key) : index.supersteps.get(key);
                    ChunkWork chunkWork = new ChunkWork(info, chunk, length, "job " + job + ", tensor " + info.getName() + ", chunk " + chunk
                            + " (generation " + generation + ")", supersteps == null ? new TreeMap<>() : supersteps,
                            index.encoded.getOrDefault(key, new TreeMap<>()));
                    if (pool != null) {
                        pending.add(pool.submit(() -> rebuildChunk(chunkWork, step, decoders.get())));
                    } else {
                        work.add(chunkWork);
                    }
                }
            }
            long chunksDone = 0;
            long deltas = 0;
            long superstepUsed = Long.MIN_VALUE;
            long digest = 0;
            int next = 0;
            for (TensorInfo info : manifest.getTensors()) {
                long[] shape = new long[info.getShape().size()];
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = info.getShape().get(d);
                }
                List<Object> values = new ArrayList<>(info.getChunkCount());
                for (int chunk = 0; chunk < info.getChunkCount(); chunk++, next++) {
                    // (a chunk's work is let go as it is taken, with its superstep's bytes)
                    Rebuilt rebuilt = pool == null ? rebuildChunk(work.set(next, null), step, decoders.get()) : await(pending.set(next, null));
                    rebuilt.corrupt().forEach(reason -> passedOver.add(reason + ": rebuilt from an older superstep"));
                    superstepUsed = Math.max(superstepUsed, rebuilt.base());
                    deltas += rebuilt.deltas();
                    digest += rebuilt.digest();
                    // the chunk's rebuilt array is the tensor's (no copy): with its superstep's bytes released, the heap
                    // holds about one copy of the model as the restore goes
                    values.add(rebuilt.values());
                    Restorer.progress(progress, "rebuilding", ++chunksDone, totalChunks);
                }
                tensors.put(info.getName(), new RestoredState.Tensor(info.getName(), shape, info.getDtype(), values, info.getCodec()));
            }
            return new RestoredState(job, generation, step, tensors, index.records, index.bytes, superstepUsed, deltas,
                    Duration.ofNanos(System.nanoTime() - start), List.copyOf(passedOver), digest);
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    private static Rebuilt await(java.util.concurrent.Future<Rebuilt> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RestoreException("interrupted while rebuilding", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new RestoreException(e.getCause().getMessage(), e.getCause());
        }
    }

    /** One chunk at the step: its newest usable superstep at or before it, then its coded records up to it, chain-checked. */
    private static Rebuilt rebuildChunk(ChunkWork work, long step, ChunkDecoder decoder) {
        String where = work.where();
        NavigableMap<Long, SuperstepChunk> supersteps = work.supersteps();
        NavigableMap<Long, EncodedChunkRecord> encoded = work.encoded();
        if (supersteps.floorKey(step) == null) {
            throw new RestoreException(where + ": no superstep at or before step " + step + " (supersteps held: " + supersteps.keySet() + ")");
        }
        if (step != supersteps.floorKey(step) && !encoded.containsKey(step)) {
            throw new RestoreException(where + ": the encoded chunk of step " + step + " is missing");
        }
        // the newest superstep at or before the step; a corrupt one is passed over for an older one when the
        // chain from there is still held (every record after it carries the checksum of what it leads to)
        // the dtype the chunk's records carry: the tensor's, or for a float tensor coded exactly the integer type of its width
        DType chunkDtype = DTypes.chunkDtype(work.info().getDtype(), work.info().getCodec());
        Object state = null;
        long base = -1;
        // the XXH64 of the state as rebuilt so far, checked already: the superstep's, then each applied record's
        long stateChecksum = 0;
        List<String> corrupt = new ArrayList<>();
        for (SuperstepChunk candidate : supersteps.headMap(step, true).descendingMap().values()) {
            try {
                state = superstepValues(candidate, chunkDtype, where);
                base = candidate.getStep();
                stateChecksum = candidate.getChecksum();
                break;
            } catch (RestoreException e) {
                corrupt.add(e.getMessage());
            }
        }
        if (state == null) {
            throw new RestoreException(String.join("; ", corrupt) + (corrupt.size() > 1 ? "" : " (no older superstep to rebuild from)"));
        }
        long previous = base;
        long deltas = 0;
        for (EncodedChunkRecord record : encoded.subMap(base, false, step, true).values()) {
            if (record.getPreviousStep() != null && record.getPreviousStep() != previous) {
                throw new RestoreException(where + ": the record of step " + record.getStep() + " follows step " + record.getPreviousStep()
                        + ", but the chain was rebuilt up to step " + previous + ": the records between them are missing");
            }
            try {
                byte[] bytes = bytes(record.getCodec());
                if (state instanceof float[] floats) {
                    decoder.apply(bytes, floats);
                } else if (state instanceof long[] longs) {
                    decoder.apply(bytes, ValueType.valueOf(chunkDtype.name()), longs, longs);
                } else {
                    decoder.apply(bytes, (double[]) state);
                }
                // apply checked the state it made against the record's checksum
                stateChecksum = ChunkDecoder.stateChecksum(bytes);
            } catch (CodecException e) {
                throw new RestoreException(where + ": step " + record.getStep() + " does not apply to the state rebuilt up to step " + previous
                        + " (" + e.getMessage() + "): a record between them is missing or corrupt", e);
            }
            previous = record.getStep();
            deltas++;
        }
        long digest = io.lccheckpoint.schema.StepDigest.chunkContribution(work.info().getName(), work.chunk(), stateChecksum);
        if (chunkDtype != work.info().getDtype()) {
            state = floatsOfBits(work.info().getDtype(), (long[]) state);
        }
        int offset = work.chunk() * work.info().getChunkSize();
        checkLength(where, java.lang.reflect.Array.getLength(state), offset, work.length(), work.info());
        return new Rebuilt(state, base, deltas, digest, corrupt);
    }

    private static void checkLength(String where, int chunkLength, int offset, long tensorLength, TensorInfo info) {
        long expected = Math.min(info.getChunkSize(), tensorLength - offset);
        if (chunkLength != expected) {
            throw new RestoreException(where + ": holds " + chunkLength + " values, the manifest says " + expected);
        }
    }

    /**
     * A superstep's values, checked against its checksum (float[], double[], or long[] for an exact dtype: the arrays a
     * restored tensor is made of; a codec {@code ChunkState} would allocate a residual a restore never needs).
     */
    static Object superstepValues(SuperstepChunk superstep, DType dtype, String where) {
        if (superstep.getDtype() != dtype) {
            throw new RestoreException(where + ": superstep of step " + superstep.getStep() + " is " + superstep.getDtype() + ", the manifest says " + dtype);
        }
        ByteBuffer bytes = superstep.getValues().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long checksum;
        Object values;
        if (DTypes.isExact(dtype)) {
            // the integers as the codec keeps them: canonical longs (FORMAT.md §4.5)
            ValueType type = ValueType.valueOf(dtype.name());
            if (bytes.remaining() % type.bytesPerValue() != 0) {
                throw new RestoreException(where + ": superstep of step " + superstep.getStep() + " holds " + bytes.remaining()
                        + " bytes, not whole " + dtype + " values");
            }
            ChunkState exact;
            try {
                exact = ChunkState.initial(type, bytes);
            } catch (IllegalArgumentException e) {
                throw new RestoreException(where + ": superstep of step " + superstep.getStep() + ": " + e.getMessage(), e);
            }
            checksum = exact.approxChecksum();
            values = exact.approxLong();
        } else if (dtype == DType.BFLOAT16 || dtype == DType.FLOAT16) {
            // a 16-bit chunk's ũ as the codec keeps it: float32 values of the type (FORMAT.md §1)
            ValueType type = ValueType.valueOf(dtype.name());
            short[] bits = new short[bytes.remaining() / 2];
            bytes.asShortBuffer().get(bits);
            float[] floats = SixteenBitFloats.fromBits(type, bits);
            checksum = Checksums.xxh64(type, floats);
            values = floats;
        } else if (dtype == DType.FLOAT32) {
            float[] floats = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(floats);
            checksum = Checksums.xxh64(floats);
            values = floats;
        } else {
            double[] doubles = new double[bytes.remaining() / 8];
            bytes.asDoubleBuffer().get(doubles);
            checksum = Checksums.xxh64(doubles);
            values = doubles;
        }
        if (checksum != superstep.getChecksum()) {
            throw new RestoreException(where + ": superstep of step " + superstep.getStep() + " fails its checksum");
        }
        return values;
    }

    /** A float tensor coded exactly: its chunk's bit patterns (DTypes.exactCarrier) as the values they are. */
    private static Object floatsOfBits(DType dtype, long[] bits) {
        return dtype == DType.FLOAT64 ? BitPatterns.doubles(bits) : dtype == DType.FLOAT32 ? BitPatterns.floats(bits)
                : BitPatterns.sixteenBit(ValueType.valueOf(dtype.name()), bits);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return bytes;
    }
}
