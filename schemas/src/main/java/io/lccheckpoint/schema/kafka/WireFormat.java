package io.lccheckpoint.schema.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;

/**
 * How records are framed on the wire (DESIGN.md §3). Without a registry: Avro single-object encoding with the bundled
 * schemas ({@link SingleObjectSerde}). With {@code schema.registry.url}: the Confluent framing, magic byte 0, the
 * 4-byte big-endian schema id, then Avro binary; schemas are registered under their record's full name (the record
 * name strategy, because one topic carries several record types). Decoding accepts both framings, told apart by the
 * first byte, so a topic can move from one to the other.
 *
 * <p>Settings: {@code schema.registry.url}, {@code basic.auth.user.info} ("user:password").
 */
public final class WireFormat {
    public static final String REGISTRY_URL_CONFIG = "schema.registry.url";
    public static final String BASIC_AUTH_USER_INFO_CONFIG = "basic.auth.user.info";
    private static final byte CONFLUENT_MAGIC = 0;

    private final SchemaRegistryClient registry;
    private final Map<Schema, Integer> ids = new HashMap<>();

    private WireFormat(SchemaRegistryClient registry) {
        this.registry = registry;
    }

    public static WireFormat singleObject() {
        return new WireFormat(null);
    }

    public static WireFormat confluent(SchemaRegistryClient registry) {
        return new WireFormat(registry);
    }

    /** The Confluent framing if {@code schema.registry.url} is set, single-object encoding otherwise. */
    public static WireFormat fromConfig(Map<String, ?> config) {
        Object url = config.get(REGISTRY_URL_CONFIG);
        if (url == null || url.toString().isBlank()) {
            return singleObject();
        }
        Object userInfo = config.get(BASIC_AUTH_USER_INFO_CONFIG);
        return confluent(new SchemaRegistryClient(url.toString(), userInfo == null ? null : userInfo.toString()));
    }

    /** True for the keys that configure the wire format rather than a Kafka client. */
    public static boolean isWireFormatSetting(String key) {
        return key.equals(REGISTRY_URL_CONFIG) || key.startsWith("basic.auth.");
    }

    public boolean usesRegistry() {
        return registry != null;
    }

    public byte[] encode(SpecificRecord record) {
        if (registry == null) {
            return SingleObjectSerde.encode(record);
        }
        Schema schema = record.getSchema();
        int id;
        synchronized (ids) {
            id = ids.computeIfAbsent(schema, s -> registry.register(s.getFullName(), s));
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256);
            out.write(CONFLUENT_MAGIC);
            out.write(ByteBuffer.allocate(4).putInt(id).array());
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
            new SpecificDatumWriter<SpecificRecord>(schema).write(record, encoder);
            encoder.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new SerializationException("cannot encode " + schema.getFullName(), e);
        }
    }

    public SpecificRecord decode(byte[] bytes) {
        if (bytes.length > 0 && bytes[0] == (byte) 0xC3) {
            return SingleObjectSerde.decode(bytes);
        }
        if (bytes.length < 5 || bytes[0] != CONFLUENT_MAGIC) {
            throw new SerializationException("neither Avro single-object encoding nor the Confluent framing (first byte "
                    + (bytes.length == 0 ? "none" : String.format("%02x", bytes[0])) + ")");
        }
        if (registry == null) {
            throw new SerializationException("a Confluent-framed record but no schema.registry.url is configured");
        }
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        Schema writer;
        try {
            writer = registry.schemaById(id);
        } catch (SchemaRegistryClient.SchemaRegistryException e) {
            throw new SerializationException("unknown schema id " + id + ": " + e.getMessage(), e);
        }
        Schema reader = SingleObjectSerde.bundledSchema(writer.getFullName());
        if (reader == null) {
            throw new SerializationException("schema id " + id + " is " + writer.getFullName() + ", not a record of lc-checkpoint");
        }
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null);
            return new SpecificDatumReader<SpecificRecord>(writer, reader).read(null, decoder);
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("corrupt Avro record (schema id " + id + "): " + e.getMessage(), e);
        }
    }
}
