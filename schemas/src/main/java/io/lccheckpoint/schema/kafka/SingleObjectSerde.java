package io.lccheckpoint.schema.kafka;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The registry-free wire format: Avro single-object encoding (magic {@code C3 01}, the schema's 8-byte CRC-64-AVRO
 * fingerprint, then Avro binary), with every schema of {@code lccheckpoint.avsc} bundled. A topic may carry several
 * record types (the raw-delta topic carries chunks and manifests); the fingerprint says which. {@link WireFormat} uses
 * it when no registry is configured.
 */
public final class SingleObjectSerde {
    private static final List<Schema> KNOWN = List.of(ChunkKey.getClassSchema(), RawDeltaChunk.getClassSchema(),
            StepManifest.getClassSchema(), CheckpointKey.getClassSchema(), EncodedChunkRecord.getClassSchema(),
            SuperstepChunk.getClassSchema(), StepComplete.getClassSchema(), DeadLetter.getClassSchema(),
            ChunkStateHandover.getClassSchema());
    private static final Map<Long, BinaryMessageDecoder<SpecificRecord>> DECODERS = new HashMap<>();
    private static final Map<Schema, BinaryMessageEncoder<SpecificRecord>> ENCODERS = new HashMap<>();
    private static final Map<String, Schema> BY_NAME = new HashMap<>();

    /** Earlier releases of {@code lccheckpoint.avsc}: records written with them are still read (resolved to today's classes). */
    static final List<String> PREVIOUS_RELEASES = List.of("lccheckpoint-0.1.0.avsc", "lccheckpoint-0.2.0.avsc", "lccheckpoint-0.3.0.avsc");

    static {
        for (Schema schema : KNOWN) {
            DECODERS.put(SchemaNormalization.parsingFingerprint64(schema), new BinaryMessageDecoder<>(SpecificData.get(), schema));
            ENCODERS.put(schema, new BinaryMessageEncoder<>(SpecificData.get(), schema));
            BY_NAME.put(schema.getFullName(), schema);
        }
        for (String release : PREVIOUS_RELEASES) {
            for (Schema writer : previousRelease(release)) {
                Schema reader = bundledSchema(writer.getFullName());
                long fingerprint = SchemaNormalization.parsingFingerprint64(writer);
                if (reader != null && !DECODERS.containsKey(fingerprint)) {
                    BinaryMessageDecoder<SpecificRecord> decoder = DECODERS.get(SchemaNormalization.parsingFingerprint64(reader));
                    decoder.addSchema(writer);
                    DECODERS.put(fingerprint, decoder);
                }
            }
        }
    }

    private static List<Schema> previousRelease(String file) {
        try (InputStream in = SingleObjectSerde.class.getResourceAsStream("/io/lccheckpoint/schema/previous/" + file)) {
            if (in == null) {
                throw new IllegalStateException("schema release " + file + " is not on the class path");
            }
            return new Schema.Parser().parse(in).getTypes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema release " + file, e);
        }
    }


    /** The bundled schema of a record of ours, by full name, or null. */
    static Schema bundledSchema(String fullName) {
        return BY_NAME.get(fullName);
    }

    private SingleObjectSerde() {
    }

    public static byte[] encode(SpecificRecord record) {
        BinaryMessageEncoder<SpecificRecord> encoder = ENCODERS.get(record.getSchema());
        if (encoder == null) {
            throw new SerializationException("no bundled schema for " + record.getSchema().getFullName());
        }
        try {
            ByteBuffer buffer = encoder.encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new SerializationException("cannot encode " + record.getSchema().getFullName(), e);
        }
    }

    public static SpecificRecord decode(byte[] bytes) {
        if (bytes.length < 10 || bytes[0] != (byte) 0xC3 || bytes[1] != 0x01) {
            throw new SerializationException("not Avro single-object encoding (expected magic C3 01)");
        }
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        BinaryMessageDecoder<SpecificRecord> decoder = DECODERS.get(fingerprint);
        if (decoder == null) {
            throw new SerializationException(String.format("unknown schema fingerprint %016x", fingerprint));
        }
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("corrupt Avro record: " + e.getMessage(), e);
        }
    }
}
