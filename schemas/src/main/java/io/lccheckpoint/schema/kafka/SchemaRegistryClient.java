package io.lccheckpoint.schema.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * A small client of the Confluent Schema Registry REST API (register, fetch by id, compatibility), which both a
 * Confluent registry ({@code http://host:8081}) and Apicurio Registry's compatible endpoint
 * ({@code http://host:8080/apis/ccompat/v7}) serve. Written here because Confluent's own client is not on Maven Central;
 * it needs only the JDK's HTTP client and Jackson. Ids and schemas are cached: a schema id never changes meaning.
 */
public final class SchemaRegistryClient {
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final String authorization;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
    private final Map<String, Integer> idsBySubjectAndSchema = new ConcurrentHashMap<>();

    /** @param userInfo "user:password" for HTTP basic authentication, or null */
    public SchemaRegistryClient(String baseUrl, String userInfo) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.authorization = userInfo == null || userInfo.isEmpty() ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
    }

    /** A registry refused or failed a request. */
    public static final class SchemaRegistryException extends RuntimeException {
        private final int status;

        SchemaRegistryException(int status, String message) {
            super(message);
            this.status = status;
        }

        /** The HTTP status: 409 means the schema is incompatible with the subject's previous ones. */
        public int status() {
            return status;
        }
    }

    /** Registers the schema under the subject (or finds it there) and returns its id. */
    public int register(String subject, Schema schema) {
        String key = subject + '\u0000' + schema;
        Integer cached = idsBySubjectAndSchema.get(key);
        if (cached != null) {
            return cached;
        }
        JsonNode response = send("POST", "/subjects/" + encode(subject) + "/versions", body(schema));
        int id = response.get("id").asInt();
        idsBySubjectAndSchema.put(key, id);
        schemasById.put(id, schema);
        return id;
    }

    public Schema schemaById(int id) {
        Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        JsonNode response = send("GET", "/schemas/ids/" + id, null);
        Schema schema = new Schema.Parser().parse(response.get("schema").asText());
        schemasById.put(id, schema);
        return schema;
    }

    /** Whether the schema may be registered under the subject given its compatibility level. */
    public boolean isCompatible(String subject, Schema schema) {
        JsonNode response = send("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest", body(schema));
        return response.path("is_compatible").asBoolean(false);
    }

    /** Sets the subject's compatibility level (BACKWARD, FORWARD, FULL, NONE, ...). */
    public void setCompatibility(String subject, String level) {
        send("PUT", "/config/" + encode(subject), "{\"compatibility\":\"" + level + "\"}");
    }

    private static String body(Schema schema) {
        try {
            return JSON.writeValueAsString(Map.of("schema", schema.toString(), "schemaType", "AVRO"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8);
    }

    private JsonNode send(String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30))
                .header("Accept", CONTENT_TYPE)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", CONTENT_TYPE);
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new SchemaRegistryException(response.statusCode(), method + " " + baseUrl + path + " -> HTTP " + response.statusCode()
                        + ": " + response.body());
            }
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new SchemaRegistryException(-1, method + " " + baseUrl + path + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException(-1, "interrupted: " + method + " " + baseUrl + path);
        }
    }
}
