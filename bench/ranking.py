"""Learned digest ranking against topic-only ranking, with simulated readers.

    python bench/ranking.py --json OUT [--seeds 5] [--readers 40] [--days 30] [--per-day 20]

Corpus: SYNTHETIC. No package of real paper metadata is installable here (PyPI's arXiv packages are API clients
that download at run time), so papers are generated from per-subtopic vocabularies written in en, ru, fa and he
(16 subtopics of 8 topics; 55 % English, 15 % each other language, like channel posts about papers; some papers mix
in a second subtopic's method). Each reader has a hidden preference (3 liked subtopics); their stated topics are a
noisy, partial description of it (a broad topic word or a precise phrase per liked subtopic, or nothing; sometimes a
topic they do not care about), in English. Every day 20 new papers arrive; the reader is shown the top 5 of the
papers of the last 3 days not shown before, and votes noisily (👍 on a liked paper 75 %, 👎 5 %; 👎 on another
50 %, 👍 5 %; otherwise no vote). Ranking is the bot's own (digests.ranking.rank: `topics` against `both`, the
learned mode) on the real multilingual embedder (the hub's grouping embedder, e5-small). Precision@5 on days 1, 7
and 30 is the share of the 5 shown papers that the hidden preference likes, in percent, averaged over readers ×
seeds, with a 95 % bootstrap CI (and of the paired difference)."""
import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from digests.compose import Candidate, Post, matches
from digests.ranking import Profile, Signal, paper_text, rank, unit_rows, vote_weight
from models.config import ModelSettings
from models.hub import ModelHub
from storage.schema.digest import Paper

LANGS = ("en", "ru", "fa", "he")
LANG_SHARE = (0.55, 0.15, 0.15, 0.15)
T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)

# topic word (as a reader would type it), subtopic, precise phrase, {language: (core, method, task)}
SUBTOPICS: list[tuple[str, str, str, dict[str, tuple[str, str, str]]]] = [
    ("alignment", "dpo", "preference optimization", {
        "en": ("direct preference optimization for language model alignment",
               "a DPO variant with length-normalized rewards", "aligning chat assistants with human preferences"),
        "ru": ("прямая оптимизация предпочтений (DPO) для выравнивания языковых моделей",
               "вариант DPO с нормировкой по длине", "согласование чат-ассистентов с предпочтениями людей"),
        "fa": ("بهینه‌سازی مستقیم ترجیحات برای هم‌راستاسازی مدل‌های زبانی",
               "نسخه‌ای از DPO با پاداش نرمال‌شده بر اساس طول", "هم‌راستا کردن دستیارهای گفتگو با ترجیحات انسانی"),
        "he": ("אופטימיזציה ישירה של העדפות ליישור מודלי שפה", "גרסה של DPO עם תגמול מנורמל לפי אורך",
               "יישור עוזרי שיחה להעדפות אנושיות")}),
    ("alignment", "reward", "reward hacking", {
        "en": ("reward hacking in reinforcement learning from human feedback",
               "an ensemble of reward models with uncertainty penalties",
               "detecting when a policy exploits its reward model"),
        "ru": ("взлом функции награды при обучении с подкреплением на отзывах людей",
               "ансамбль моделей награды со штрафом за неопределённость",
               "обнаружение эксплуатации модели награды политикой"),
        "fa": ("سوءاستفاده از پاداش در یادگیری تقویتی با بازخورد انسانی",
               "مجموعه‌ای از مدل‌های پاداش با جریمهٔ عدم قطعیت",
               "تشخیص زمانی که سیاست از مدل پاداش سوءاستفاده می‌کند"),
        "he": ("פריצת תגמול בלמידת חיזוק ממשוב אנושי", "אנסמבל של מודלי תגמול עם קנס על אי-ודאות",
               "זיהוי מצבים שבהם המדיניות מנצלת את מודל התגמול")}),
    ("speech", "asr", "speech recognition", {
        "en": ("automatic speech recognition for low-resource languages",
               "self-supervised acoustic pretraining on untranscribed audio",
               "transcribing speech in languages with little labeled data"),
        "ru": ("автоматическое распознавание речи для малоресурсных языков",
               "самообучаемое акустическое предобучение на неразмеченном аудио",
               "транскрибирование речи на языках с малым объёмом разметки"),
        "fa": ("بازشناسی خودکار گفتار برای زبان‌های کم‌منبع", "پیش‌آموزش صوتی خودنظارتی روی صداهای بدون رونوشت",
               "رونویسی گفتار در زبان‌هایی با داده‌های برچسب‌دار اندک"),
        "he": ("זיהוי דיבור אוטומטי לשפות דלות משאבים", "אימון מקדים אקוסטי בפיקוח עצמי על שמע ללא תמלול",
               "תמלול דיבור בשפות עם מעט נתונים מתויגים")}),
    ("speech", "tts", "text-to-speech", {
        "en": ("expressive text-to-speech synthesis", "a neural vocoder conditioned on prosody embeddings",
               "generating natural voices with controllable emotion"),
        "ru": ("выразительный синтез речи по тексту", "нейронный вокодер, обусловленный эмбеддингами просодии",
               "генерация естественных голосов с управляемыми эмоциями"),
        "fa": ("تبدیل متن به گفتار بیانگر", "یک واکودر عصبی مشروط بر بردارهای نوای گفتار",
               "تولید صداهای طبیعی با احساسات قابل کنترل"),
        "he": ("סינתזת דיבור מטקסט עם הבעה", "ווקודר עצבי המותנה בייצוגי פרוזודיה",
               "יצירת קולות טבעיים עם רגש נשלט")}),
    ("diffusion", "image", "text-to-image", {
        "en": ("text-to-image diffusion models", "classifier-free guidance with a learned noise schedule",
               "generating high-resolution images from prompts"),
        "ru": ("диффузионные модели для генерации изображений по тексту",
               "безклассификаторное управление с обучаемым расписанием шума",
               "генерация изображений высокого разрешения по запросу"),
        "fa": ("مدل‌های انتشار برای تولید تصویر از متن", "هدایت بدون طبقه‌بند با زمان‌بندی نویز آموخته‌شده",
               "تولید تصاویر با وضوح بالا از روی پرامپت"),
        "he": ("מודלי דיפוזיה ליצירת תמונות מטקסט", "הנחיה ללא מסווג עם לוח זמנים נלמד לרעש",
               "יצירת תמונות ברזולוציה גבוהה מהנחיות טקסט")}),
    ("diffusion", "video", "video generation", {
        "en": ("video diffusion models for temporally consistent generation", "a spatio-temporal attention denoiser",
               "synthesizing long videos from text descriptions"),
        "ru": ("видео-диффузионные модели для согласованной во времени генерации",
               "денойзер с пространственно-временным вниманием", "синтез длинных видео по текстовому описанию"),
        "fa": ("مدل‌های انتشار ویدئو برای تولید منسجم در زمان", "یک حذف‌کنندهٔ نویز با توجه مکانی-زمانی",
               "ساخت ویدئوهای طولانی از توضیحات متنی"),
        "he": ("מודלי דיפוזיה לווידאו ליצירה עקבית בזמן", "מסיר רעש עם קשב מרחבי-זמני",
               "סינתזה של סרטונים ארוכים מתיאורי טקסט")}),
    ("retrieval", "rag", "retrieval-augmented generation", {
        "en": ("retrieval-augmented generation for question answering",
               "a retriever trained jointly with the generator",
               "answering open-domain questions with cited documents"),
        "ru": ("генерация с дополнением извлечёнными документами (RAG) для ответов на вопросы",
               "ретривер, обучаемый совместно с генератором",
               "ответы на вопросы открытого домена со ссылками на документы"),
        "fa": ("تولید تقویت‌شده با بازیابی برای پاسخ به پرسش", "یک بازیاب که همراه با مولد آموزش می‌بیند",
               "پاسخ به پرسش‌های دامنهٔ باز با ارجاع به اسناد"),
        "he": ("יצירה מועשרת באחזור למענה על שאלות", "מאחזר שמאומן במשותף עם המחולל",
               "מענה על שאלות בתחום פתוח עם הפניה למסמכים")}),
    ("retrieval", "dense", "search", {
        "en": ("dense passage retrieval for web search", "contrastive bi-encoder training with hard negatives",
               "ranking documents for search engine queries"),
        "ru": ("плотный поиск пассажей для веб-поиска", "контрастивное обучение би-энкодера с трудными негативами",
               "ранжирование документов по запросам поисковой системы"),
        "fa": ("بازیابی متراکم بخش‌های متن برای جستجوی وب", "آموزش تقابلی رمزگذار دوگانه با نمونه‌های منفی دشوار",
               "رتبه‌بندی اسناد برای پرسش‌های موتور جستجو"),
        "he": ("אחזור צפוף של קטעי טקסט לחיפוש ברשת", "אימון ניגודי של מקודד כפול עם דוגמאות שליליות קשות",
               "דירוג מסמכים עבור שאילתות של מנוע חיפוש")}),
    ("quantization", "weights", "4-bit", {
        "en": ("4-bit weight quantization of large language models", "outlier-aware rounding with per-group scales",
               "running LLM inference on consumer GPUs"),
        "ru": ("4-битное квантование весов больших языковых моделей",
               "округление с учётом выбросов и масштабами по группам", "инференс LLM на потребительских видеокартах"),
        "fa": ("کوانتیزه‌سازی ۴ بیتی وزن‌های مدل‌های زبانی بزرگ", "گردکردن آگاه از داده‌های پرت با مقیاس‌های گروهی",
               "اجرای استنتاج مدل‌های زبانی بزرگ روی کارت‌های گرافیک خانگی"),
        "he": ("קוונטיזציה של משקלים ל-4 ביט במודלי שפה גדולים", "עיגול מודע לחריגים עם קני מידה לכל קבוצה",
               "הרצת הסקה של מודלי שפה גדולים על כרטיסי מסך ביתיים")}),
    ("quantization", "kv", "kv cache", {
        "en": ("key-value cache compression for long-context inference", "token eviction guided by attention scores",
               "serving million-token contexts with limited memory"),
        "ru": ("сжатие KV-кэша для инференса с длинным контекстом", "вытеснение токенов по оценкам внимания",
               "обслуживание контекстов в миллион токенов при ограниченной памяти"),
        "fa": ("فشرده‌سازی حافظهٔ نهان کلید-مقدار برای استنتاج با زمینهٔ طولانی", "حذف توکن‌ها بر اساس امتیازهای توجه",
               "پاسخ‌دهی با زمینه‌های یک میلیون توکنی با حافظهٔ محدود"),
        "he": ("דחיסת מטמון מפתח-ערך להסקה בהקשר ארוך", "פינוי טוקנים לפי ציוני קשב",
               "הגשת הקשרים של מיליון טוקנים עם זיכרון מוגבל")}),
    ("graph", "molecules", "molecular", {
        "en": ("graph neural networks for molecular property prediction", "an equivariant message-passing network",
               "predicting drug toxicity from molecular graphs"),
        "ru": ("графовые нейросети для предсказания свойств молекул", "эквивариантная сеть передачи сообщений",
               "предсказание токсичности лекарств по молекулярным графам"),
        "fa": ("شبکه‌های عصبی گرافی برای پیش‌بینی ویژگی‌های مولکول", "یک شبکهٔ پیام‌رسانی هم‌وردا",
               "پیش‌بینی سمیت دارو از گراف‌های مولکولی"),
        "he": ("רשתות נוירונים גרפיות לחיזוי תכונות של מולקולות", "רשת העברת מסרים שקולה",
               "חיזוי רעילות של תרופות מגרפים מולקולריים")}),
    ("graph", "kg", "knowledge graphs", {
        "en": ("multi-hop reasoning over knowledge graphs", "a path-based query embedding model",
               "completing missing facts in large knowledge bases"),
        "ru": ("многошаговые рассуждения над графами знаний", "модель эмбеддингов запросов на основе путей",
               "восполнение отсутствующих фактов в больших базах знаний"),
        "fa": ("استدلال چندمرحله‌ای روی گراف‌های دانش", "مدل تعبیه پرس‌وجو بر پایهٔ مسیر",
               "تکمیل واقعیت‌های گمشده در پایگاه‌های دانش بزرگ"),
        "he": ("הסקה רב-שלבית על גרפי ידע", "מודל שיכון שאילתות מבוסס מסלולים",
               "השלמת עובדות חסרות במאגרי ידע גדולים")}),
    ("robot", "manipulation", "manipulation", {
        "en": ("robot manipulation with learned visuomotor policies",
               "diffusion policies trained from teleoperated demonstrations",
               "grasping and rearranging household objects"),
        "ru": ("манипуляции роботов с обученными визуомоторными политиками",
               "политики, обученные на демонстрациях с телеуправлением", "захват и перестановка бытовых предметов"),
        "fa": ("دستکاری اشیا توسط ربات با سیاست‌های بینایی-حرکتی آموخته‌شده",
               "سیاست‌هایی که از نمایش‌های کنترل از راه دور آموزش دیده‌اند", "گرفتن و جابه‌جا کردن اشیای خانگی"),
        "he": ("מניפולציה רובוטית עם מדיניות ראייה-תנועה נלמדת", "מדיניות שאומנה מהדגמות בשליטה מרחוק",
               "אחיזה וסידור מחדש של חפצים ביתיים")}),
    ("robot", "driving", "autonomous driving", {
        "en": ("motion planning for autonomous driving", "a trajectory transformer trained on fleet data",
               "predicting and avoiding pedestrians in urban traffic"),
        "ru": ("планирование движения для беспилотных автомобилей",
               "трансформер траекторий, обученный на данных автопарка",
               "прогнозирование и объезд пешеходов в городском трафике"),
        "fa": ("برنامه‌ریزی حرکت برای رانندگی خودران", "یک ترنسفورمر مسیر که روی داده‌های ناوگان آموزش دیده",
               "پیش‌بینی و دوری از عابران پیاده در ترافیک شهری"),
        "he": ("תכנון תנועה לנהיגה אוטונומית", "טרנספורמר מסלולים שאומן על נתוני צי רכבים",
               "חיזוי והתחמקות מהולכי רגל בתנועה עירונית")}),
    ("interpretable", "sae", "sparse autoencoders", {
        "en": ("sparse autoencoders for interpretable features in transformers",
               "dictionary learning on residual stream activations",
               "finding monosemantic features inside language models"),
        "ru": ("разреженные автоэнкодеры для интерпретируемых признаков трансформеров",
               "обучение словаря на активациях остаточного потока",
               "поиск моносемантичных признаков внутри языковых моделей"),
        "fa": ("خودرمزگذارهای تنک برای ویژگی‌های تفسیرپذیر در ترنسفورمرها",
               "یادگیری واژه‌نامه روی فعال‌سازی‌های جریان باقیمانده", "یافتن ویژگی‌های تک‌معنایی درون مدل‌های زبانی"),
        "he": ("מקודדים אוטומטיים דלילים לתכונות פרשניות בטרנספורמרים", "למידת מילון על הפעלות של הזרם השיורי",
               "איתור תכונות חד-משמעיות בתוך מודלי שפה")}),
    ("interpretable", "leakage", "semantic leakage", {
        "en": ("semantic leakage in language model generations", "probing prompts with unrelated concepts",
               "measuring how an irrelevant word changes a continuation"),
        "ru": ("семантическая утечка в генерациях языковых моделей", "зондирование промптами с посторонними понятиями",
               "измерение того, как постороннее слово меняет продолжение"),
        "fa": ("نشت معنایی در خروجی مدل‌های زبانی", "کاوش با پرامپت‌هایی شامل مفاهیم نامربوط",
               "اندازه‌گیری اینکه یک واژهٔ بی‌ربط چگونه ادامهٔ متن را تغییر می‌دهد"),
        "he": ("דליפה סמנטית בטקסטים שמודלי שפה מייצרים", "בדיקה באמצעות הנחיות עם מושגים לא קשורים",
               "מדידה של האופן שבו מילה לא רלוונטית משנה את ההמשך")}),
]

TITLES = {
    "en": ["{Core}", "{Core} with {method}", "Revisiting {core}", "Scaling {core}", "On {task}",
           "{Method} for {task}"],
    "ru": ["{Core}", "Разбор: {core}", "Статья дня: {core}", "{Core}: {method}", "Новое о задаче: {task}"],
    "fa": ["{Core}", "مرور: {core}", "مقالهٔ روز: {core}", "{Core}: {method}", "تازه‌ها دربارهٔ {task}"],
    "he": ["{Core}", "סקירה: {core}", "מאמר היום: {core}", "{Core}: {method}", "חדש בנושא {task}"],
}
ABSTRACTS = {
    "en": "We study {core}. We propose {method} for {task}. {filler}",
    "ru": "Новая статья: {core}. Авторы предлагают подход «{method}» для задачи «{task}». {filler}",
    "fa": "مقالهٔ تازه: {core}. نویسندگان روش «{method}» را برای «{task}» پیشنهاد می‌کنند. {filler}",
    "he": "מאמר חדש: {core}. המחברים מציעים את השיטה „{method}” עבור „{task}”. {filler}",
}
MIX = {"en": " We also use {method}.", "ru": " Также используется {method}.",
       "fa": " همچنین از {method} استفاده می‌شود.",
       "he": " נעשה שימוש גם ב{method}."}
FILLERS = {
    "en": ["Experiments on three benchmarks show consistent gains.", "Code and models are released.",
           "The method is simple and scales well.", "Ablations explain where the gains come from.",
           "Results hold across model sizes.", "We also discuss limitations."],
    "ru": ["Эксперименты на трёх бенчмарках показывают стабильный прирост.", "Код и модели открыты.",
           "Метод простой и хорошо масштабируется.", "Абляции объясняют, откуда берётся прирост.",
           "Результаты сохраняются для моделей разного размера.", "Обсуждаются и ограничения."],
    "fa": ["آزمایش‌ها روی سه معیار بهبود پایداری نشان می‌دهند.", "کد و مدل‌ها منتشر شده‌اند.",
           "روش ساده است و به‌خوبی مقیاس‌پذیر است.", "آزمایش‌های حذفی منشأ بهبودها را توضیح می‌دهند.",
           "نتایج برای اندازه‌های مختلف مدل برقرار است.", "محدودیت‌ها نیز بررسی شده‌اند."],
    "he": ["ניסויים על שלושה מדדים מראים שיפור עקבי.", "הקוד והמודלים שוחררו.", "השיטה פשוטה ומתרחבת היטב.",
           "ניסויי הסרה מסבירים מאין מגיע השיפור.", "התוצאות נשמרות בגדלי מודל שונים.", "נדונות גם המגבלות."],
}


@dataclass
class CorpusPaper:
    id: int
    day: int
    subtopic: int
    language: str
    title: str
    abstract: str


@dataclass
class Reader:
    liked: set[int]
    topics: list[str]


@dataclass
class Run:
    precision: dict[int, float] = field(default_factory=dict)  # day → p@5
    shown: set[int] = field(default_factory=set)
    votes: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # paper id → (+1/-1, when)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_corpus(rng: random.Random, size: int) -> list[CorpusPaper]:
    """The pool of papers (embedded once); each seed draws its days' arrivals from it."""
    papers = []
    for number in range(1, size + 1):
        sub = rng.randrange(len(SUBTOPICS))
        lang = rng.choices(LANGS, weights=LANG_SHARE)[0]
        core, method, task = SUBTOPICS[sub][3][lang]
        values = {"core": core, "method": method, "task": task, "Core": _cap(core), "Method": _cap(method)}
        title = rng.choice(TITLES[lang]).format(**values)
        abstract = ABSTRACTS[lang].format(filler=rng.choice(FILLERS[lang]), **values)
        if rng.random() < 0.3:  # a second subtopic's method: papers are not all textbook cases
            other = SUBTOPICS[rng.randrange(len(SUBTOPICS))][3][lang][1]
            abstract += MIX[lang].format(method=other)
        papers.append(CorpusPaper(number, 0, sub, lang, title, abstract))
    return papers


def arrivals(pool: list[CorpusPaper], rng: random.Random, days: int, per_day: int) -> list[CorpusPaper]:
    """This seed's stream: `per_day` papers of the pool on each day, in a random order."""
    chosen = rng.sample(pool, days * per_day)
    return [CorpusPaper(p.id, 1 + index // per_day, p.subtopic, p.language, p.title, p.abstract)
            for index, p in enumerate(chosen)]


def make_reader(rng: random.Random) -> Reader:
    liked = set(rng.sample(range(len(SUBTOPICS)), 3))
    topics: list[str] = []
    for sub in sorted(liked):
        draw = rng.random()
        if draw < 0.5:
            topics.append(SUBTOPICS[sub][0])  # the broad word: it also brings the sibling subtopic
        elif draw < 0.75:
            topics.append(SUBTOPICS[sub][2])  # a precise phrase (English: misses other languages)
    if rng.random() < 0.5 or not topics:  # a topic they said but do not care about
        others = sorted({t for i, (t, *_rest) in enumerate(SUBTOPICS) if i not in liked} - set(topics))
        topics.append(rng.choice(others))
    return Reader(liked, list(dict.fromkeys(topics)))


def vote(rng: random.Random, relevant: bool) -> int:
    draw = rng.random()
    if relevant:
        return 1 if draw < 0.75 else (-1 if draw < 0.80 else 0)
    return -1 if draw < 0.50 else (1 if draw < 0.55 else 0)


def candidate(paper: CorpusPaper) -> Candidate:
    row = Paper(id=paper.id, key=f"sim:{paper.id}", title=paper.title, abstract=paper.abstract, language=paper.language)
    return Candidate(row, [Post("channel", f"channel-{paper.language}", paper.language, None, paper.abstract)])


def simulate(corpus: list[CorpusPaper], vectors: dict[int, np.ndarray], reader: Reader, mode: str,
             rng: random.Random, *, days: int, half_life: float, report: tuple[int, ...]) -> Run:
    run = Run()
    by_id = {p.id: p for p in corpus}
    for day in range(1, days + 1):
        now = T0 + timedelta(days=day)
        pool = [p for p in corpus if day - 2 <= p.day <= day and p.id not in run.shown]
        signals = [Signal(pid, by_id[pid].title, vote_weight(value, when, now, half_life), vectors[pid])
                   for pid, (value, when) in run.votes.items() if value]
        shown = rank([candidate(p) for p in pool], reader.topics, 5, matches=matches,
                     mode=mode, profile=Profile(signals), vectors=vectors)  # type: ignore[arg-type]
        relevant = [by_id[e.paper.id].subtopic in reader.liked for e in shown]
        if day in report:
            run.precision[day] = 100.0 * sum(relevant) / 5
        for entry, is_relevant in zip(shown, relevant, strict=True):
            run.shown.add(entry.paper.id)
            value = vote(rng, is_relevant)
            if value:
                run.votes[entry.paper.id] = (value, now)
    return run


def bootstrap(values: np.ndarray, n: int = 2000) -> list[float]:
    """95 % percentile-bootstrap CI of the mean (the same resamples for every series: equal data, equal CI)."""
    rng = np.random.default_rng(0)
    means = values[rng.integers(0, len(values), (n, len(values)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 1), round(float(np.percentile(means, 97.5)), 1)]


def _cached(path: Path | None, texts: list[str]) -> np.ndarray | None:
    """Vectors saved by an earlier run for exactly these texts (--vectors-cache, to iterate quickly)."""
    if path is None or not path.exists():
        return None
    saved = np.load(path)
    return saved["vectors"] if list(saved["texts"]) == texts else None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    hub = ModelHub(ModelSettings())
    embedder, _ = hub.grouping_embedder()
    await embedder.ready()
    report = (1, 7, 30)
    results: dict[str, dict[int, list[float]]] = {"topics": {d: [] for d in report}, "learned": {d: [] for d in report}}
    started = time.monotonic()
    pool = make_corpus(random.Random(12345), args.pool)
    texts = [paper_text(p.title, p.abstract) for p in pool]
    cached = _cached(args.vectors_cache, texts)
    if cached is None:
        parts = []
        for start in range(0, len(texts), 32):  # small requests: each within the engine's request timeout
            parts.append(unit_rows(await embedder.embed(texts[start:start + 32])))
        cached = np.concatenate(parts)
        if args.vectors_cache:
            np.savez(args.vectors_cache, vectors=cached, texts=np.array(texts))
    vectors = {p.id: v for p, v in zip(pool, cached, strict=True)}
    embedded = round(time.monotonic() - started, 1)
    for seed in range(args.seed_start, args.seed_start + args.seeds):
        corpus = arrivals(pool, random.Random(seed), args.days, args.per_day)
        for index in range(args.readers):
            reader = make_reader(random.Random(seed * 1000 + index))
            for name, mode in (("topics", "topics"), ("learned", "both")):
                votes = random.Random(seed * 1000 + index + 7)  # the same vote noise for both rankings
                outcome = simulate(corpus, vectors, reader, mode, votes, days=args.days,
                                   half_life=args.half_life, report=report)
                for day in report:
                    results[name][day].append(outcome.precision[day])
    await hub.close()
    out: dict[str, Any] = {
        "corpus": {"papers": len(pool), "per_run": args.days * args.per_day,
                   "source": "synthetic: generated from per-subtopic vocabularies in en/ru/fa/he (bench/ranking.py); "
                   "no real paper metadata is installable", "languages": dict(zip(
                       LANGS, LANG_SHARE, strict=True)), "subtopics": len(SUBTOPICS), "per_day": args.per_day},
        "readers": args.readers * args.seeds, "seeds": list(range(args.seed_start, args.seed_start + args.seeds)),
        "embedder": embedder.name, "half_life_days": args.half_life,
        "precision_at_5": {name: {str(d): round(float(np.mean(v)), 1) for d, v in days.items()}
                           for name, days in results.items()},
        "ci95": {name: {str(d): bootstrap(np.array(v)) for d, v in days.items()}
                 for name, days in results.items()},
        "seconds": round(time.monotonic() - started, 1), "embedding_seconds": embedded,
    }
    difference = {d: np.array(results["learned"][d]) - np.array(results["topics"][d]) for d in report}
    out["difference"] = {str(d): round(float(v.mean()), 1) for d, v in difference.items()}
    out["ci95"]["difference"] = {str(d): bootstrap(v) for d, v in difference.items()}
    out["target"] = {"learned_minus_topics_day7_points": 15, "met": out["difference"]["7"] >= 15}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-start", type=int, default=0)
    parser.add_argument("--readers", type=int, default=40, help="per seed")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=20)
    parser.add_argument("--vectors-cache", type=Path,
                        help="reuse the pool's embeddings from this .npz (written when absent)")
    parser.add_argument("--pool", type=int, default=800, help="papers in the corpus (each run draws days × per-day)")
    parser.add_argument("--half-life", type=float, default=30.0)
    args = parser.parse_args(argv)
    out = asyncio.run(run(args))
    print(f"corpus: {out['corpus']['papers']} papers ({out['corpus']['source'].split(':')[0]}), "
          f"{out['readers']} readers, embedder {out['embedder']}")
    print(f"{'precision@5 %':<16}" + "".join(f"{'day ' + d:>22}" for d in ("1", "7", "30")))
    for name in ("topics", "learned", "difference"):
        values = out["difference"] if name == "difference" else out["precision_at_5"][name]
        print(f"{name:<16}" + "".join(f"{values[d]:>8.1f} [{out['ci95'][name][d][0]:>5.1f}, "
                                      f"{out['ci95'][name][d][1]:>5.1f}]" for d in ("1", "7", "30")))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
