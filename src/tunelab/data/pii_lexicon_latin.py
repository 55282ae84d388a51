"""Name lists for Latin-script text: common given names and surnames of many languages (English,
German, French, Spanish, Italian, Portuguese, Dutch, Nordic, Slavic, Hungarian, Turkish) and the
usual romanisations of Arabic, Indian, Chinese, Japanese, Korean, Vietnamese and African names.

Written for ``pii_names``; entries are stored folded (lower case, no diacritics), so "José" and
"Jose" are one entry. ``AMBIGUOUS_GIVEN`` are names that are also ordinary words ("May", "Will",
"Bill"): they count as a name only with a cue or beside another name.
"""

from __future__ import annotations

GIVEN = """
aaron abby abigail ada adam adele adrian adriana agnes aidan aiden alan alana albert alberto
alejandra alejandro alex alexa alexander alexandra alexis alfred alfredo alice alicia alina
alison allison alma amanda amber amelia amy ana andrea andres andrew andy angela angelica angie
anita ann anna anne annette annie anthony antonio april ariana ariel arlene arnold arthur ashley
audrey austin ava barbara barry beatrice becky ben benjamin bernard beth betty beverly bianca
billy blake bob bobby bonnie brad bradley brandon brenda brent brett brian bridget brittany
brooke bruce bryan caleb calvin cameron camila carl carla carlos carmen carol caroline carolyn
carrie casey catherine cathy cecilia chad charles charlie charlotte chelsea cheryl chloe chris
christina christine christopher cindy claire clara clarence claudia clayton clifford clinton cody
colin colleen connie connor constance corey courtney craig crystal curtis cynthia daisy dale
damian dan dana daniel daniela danielle danny darlene darren dave david deanna debbie deborah
debra denise dennis derek diana diane dianne dolores dominic donald donna doris dorothy douglas
duncan dustin dylan earl eddie edgar edith edna eduardo edward edwin eileen elaine eleanor elena
eli elijah elisa elizabeth ella ellen ellie elliot emily emma eric erica erik erin ernest esther
ethan eugene evan evelyn felicia felix fernando fiona florence floyd frances francis francisco
franklin fred freddie frederick gabriel gabriela gabrielle gail gary gavin genevieve geoffrey
george gerald geraldine gilbert gina gladys glen glenda glenn gloria gordon greg gregory gwen
hailey hannah harold harriet harry harvey heather hector helen henry herbert holly howard hugh
ian irene isaac isabel isabella isaiah ivan jacob jacqueline jaime jake james jamie jan jane
janet janice jared jasmine jason javier jean jeanette jeff jeffrey jenna jennifer jenny jeremy
jerome jerry jesse jessica jesus jill jim jimmy joan joann joanna joanne joe joel johanna john
johnny jon jonathan jordan jorge jose joseph josephine josh joshua joyce juan juanita judith
judy julia julian juliana julie julio justin kaitlyn karen karina karl kate katherine kathleen
kathryn kathy katie katrina kayla keith kelly kelsey ken kendra kenneth kerry kevin kim kimberly
kirk kristen kristin kristina kurt kyle lance larry laura lauren laurie leah lee leila lena
leo leon leonard leroy leslie lewis liam lillian linda lindsay lindsey lisa logan lois lorena
lori lorraine louis louise lucas lucia lucy luis luke lydia lynn madeline madison mandy manuel
marc marcia marco marcus margaret margarita maria marian marianne marie marilyn mario marion
marjorie marlene martha martin marvin mary mason matthew maureen maurice megan melanie melinda
melissa melvin mercedes mia michael michele michelle miguel mildred miranda miriam molly monica
morgan nancy naomi natalie natasha nathan nathaniel neil nicholas nicole noah norma oliver
olivia omar oscar owen pamela paola patricia patrick paul paula pauline pedro peggy peter
philip phillip phyllis rachel rafael ralph ramon randall randy raquel raymond rebecca regina
renee rhonda ricardo richard ricky rita robert roberta roberto robin rodney roger roland ronald
ronnie rosa rosemary ross roy ruben russell ruth ryan sabrina samantha samuel sandra sara sarah
scott sean sergio seth shane shannon sharon shawn sheila shelby shelly sherry shirley sidney
sofia sonia sophia sophie spencer stacey stacy stanley stephanie stephen steve steven stuart
susan suzanne sylvia tamara tammy tanya tara ted teresa terrence terry thelma theodore theresa
thomas tiffany timothy tina todd tom tommy tonya tracy travis trevor troy tyler valerie vanessa
vernon veronica vicki vickie victor vincent virginia vivian walter wanda warren wayne wendy
wesley whitney william willie yolanda yvonne zachary zoe
alexandre amelie anais antoine aurelie baptiste benoit camille cedric celine chantal clement
corentin delphine didier dominique elodie emilie etienne fabien fabrice florian francois
francoise frederic gael gaelle genevieve gerard ghislaine guillaume helene herve hugo isabelle
jacques jeanne jerome josiane julien laetitia laurent lea lucien manon marcel margaux marine
mathieu mathilde maxime michel mireille monique nathalie nicolas noemie pascal pierre raphael
remi renaud romain sebastien serge severine simone solange stephane sylvie theo thibault
thierry valentin yann yannick yves
andreas anja anke annika axel bernd birgit bjorn brigitte claus dieter dirk elke erika ernst
florian frank franziska friedrich gerhard gisela gunter hans hannelore heike heinz helga
helmut holger horst ingrid jens jorg jurgen karin katja klaus kristin lars lukas lutz manfred
marion markus martina matthias monika norbert olaf petra rainer ralf reinhard renate rudolf
sabine sandra silke stefan steffen susanne thorsten torsten ulla ulrich ulrike uta ute uwe
werner wolfgang jannik niklas leon finn jonas moritz tobias lena lina marlene johannes
agustin alba alvaro amparo beatriz carolina catalina cristina diego dolores elisa emilio
enrique esperanza esteban federico fernanda gonzalo guadalupe guillermo ignacio ines inmaculada
jesus joaquin jorge josefa julieta lorenzo lucia luciana marcela mariana marisol martina
mateo matias mercedes montserrat nicolas pablo paloma paula ramiro raul rocio rodrigo
rosario salvador santiago sergio silvia sofia teresa valentina vicente ximena
alessandra alessandro alessia andrea angelo antonella antonio beatrice bruno carla chiara
cristiano davide domenico elena emanuele enrico fabio federica filippo francesca francesco
gabriele giacomo gianluca gianni giorgia giorgio giovanna giovanni giulia giuliano giulio
giuseppe giuseppina ilaria leonardo lorenza luca luigi marco matteo mattia maurizio michela
michele nicola nicoletta paolo pietro riccardo roberta salvatore simona simone stefano
tommaso valentina valerio vittoria vittorio
afonso antonia bruna caio camila cecilia conceicao diogo eduarda fabiana fatima felipe flavia
gustavo heloisa joao joaquim larissa leticia luana luiz marcelo marcia matheus otavio rafaela
renata rodrigo sebastiao tiago thiago vinicius vitoria
anouk bram daan dirk emma fleur floor geert hendrik henk jaap jan jeroen joost jurgen kees
koen lieke lotte maarten marloes niels pieter ruud sander sanne stijn thijs wouter
anders arne astrid birgitta bjorn camilla dag einar elin erik freja frida gunnar hakon
helga henrik ingrid jonas jorgen karin kjell lars linnea magnus maja mats mikael nils olof
ove per ragnar sigrid sven terje thor tove ulf viggo
agata agnieszka aleksander aleksandra anna barbara bartosz beata bogdan boguslaw bozena
czeslaw dariusz dorota elzbieta ewa grazyna grzegorz halina iwona jacek jadwiga jakub jan
janusz jaroslaw jerzy joanna jolanta jozef justyna kamil karol katarzyna krystyna krzysztof
leszek lukasz maciej magdalena malgorzata marcin marek mariusz marta michal miroslaw monika
pawel piotr przemyslaw rafal robert ryszard slawomir stanislaw stefan tadeusz tomasz urszula
wieslaw witold wojciech zbigniew zdzislaw zofia
jana jiri josef jaroslav karel lenka lucie marketa milan miroslav ondrej pavel petr radek
tereza vaclav vojtech zdenek
attila balazs bence csaba eszter gabor gyorgy istvan janos katalin krisztina laszlo mihaly
sandor tamas zoltan zsofia zsuzsanna
ahmet ayse aylin burak cem cemal derya ebru elif emine emre esra fatih gul gulsen hakan
hatice huseyin ibrahim kemal mehmet meltem merve murat mustafa ozlem recep selin serkan
sibel tuba yasemin yusuf zeynep
abdul abdullah abdulrahman adel ahmad ahmed aisha ali amina amir amira anwar asma ayman aziz
bilal fadi farah farid fatima fatma habib hamza hana hasan hassan hussein ibrahim imran jamal
jamila karim khadija khaled khalid laila layla leila mahmoud malik mariam maryam mohamed
mohammad mohammed muhammad mustafa nabil nadia naveed nasser nour omar osama rania rashid
reza saeed salma sami samir sara tariq walid yasmin yousef youssef yusuf zahra zainab zaid
aarav aditi aditya ajay akash amit amitabh anand anil anita anjali ankit anupam arjun arun
ashok deepa deepika divya ganesh gaurav geeta gita harish kavita kiran krishna lakshmi
mahesh manish manoj meena mohan mukesh nandini neha nikhil nisha pooja prakash pradeep
pranav prashant priya rahul rajesh rakesh ramesh ravi rohan rohit sachin sanjay sandeep
santosh sapna shreya shweta sita sneha sunil sunita suresh swati vijay vikram vinod
anh bao binh chau cuong dung duc duong giang hanh hieu hoa hoang hung huong huy khanh lan
linh loan mai minh my nam nga ngoc nhung phuong quang quynh son thanh thao thi thu thuy
tien trang trinh truc tuan tung uyen van vinh xuan yen
bo chen chun fang feng gang guang hao hong hua hui jian jiang jie jing jun lei li lian
liang lin ling mei min ming na ning peng ping qiang qing rong shu tao ting wei wen xia xiao
xin xiu xu yan yang yi ying yong yu yun zhen zhi zhong
akira ayumi daiki daisuke haruka haruto hana hina hiroshi hiroko hiroyuki ichiro kaito kazuki
kazuo keiko kenji kenta koji makoto mami mariko masako masaru mayumi megumi michiko minoru
misaki naoki naoko noriko osamu riku ryo ryota sakura satoshi shota sora takashi takeshi
taro tomoko yoko yoshiko yui yuka yuki yumi yuto
bo-ra chae-won da-eun do-yun eun-ji ha-eun hye-jin hyun-woo ji-ho ji-hoon ji-min ji-woo
ji-yeon jin-woo jun-ho min-jun min-seo min-ji seo-yeon seo-jun seung-hyun so-yeon soo-jin
sung-min woo-jin ye-jin yoo-na young-ho yu-na
abebe abiola adaeze adebayo amara ayodele chidi chinedu chioma chukwuemeka emeka folake
ifeoma kwame kofi kwabena ngozi nkechi obinna oluwaseun tunde uchenna wanjiru zanele
aleksei alexei alexey anastasia andrei anton artem boris dmitri dmitry ekaterina elena
fedor galina igor irina ivan katya kirill konstantin ksenia larisa lyudmila maksim marina
mikhail natalia nikita nikolai oksana olga pavel roman sergei sergey svetlana tatiana
vadim valentina vasily viktor vladimir yulia yuri zoya
giorgos georgios dimitris dimitrios eleni kostas konstantinos nikos nikolaos panagiotis
vasilis yannis ioannis katerina sofia christos
"""

# Given names that are also common words, months or places: a name only with a cue or beside
# another name ("Will Smith", "Dear May,").
AMBIGUOUS_GIVEN = """
al amber angel april art august autumn bill blake brook brooks buck buddy carter case chance
charity chase china christian cliff crystal dale dawn dean destiny don drew duke earl eve
faith florence ford frank gene georgia ginger glen grace gray grey guy hazel heath holly
honey hope hunter india iris ivy jack jade jan jordan joy june justice king lane lily long
mark marshall mason max may melody mercy miles morgan nick norman olive page paris pat
patience pearl penny rich river rock rose ruby sandy sky sterling stone summer sun sunny
taylor victoria violet wade will winter young van can alexa austin madison an do le ma ha
ho hai my nam son min
hong song bo li lan lin mai thu hoa binh sue ray kay rex roman
"""

SURNAMES = """
adams alexander allen alvarez anderson andrews armstrong arnold bailey baker banks barnes
barrett bates bell bennett berry bishop black blake boyd bradley brooks brown bryant burke
burns butler byrne campbell carlson carpenter carr carroll carter castillo castro chapman
chavez clark clarke cole coleman collins cook cooper cox crawford cruz cunningham daniels
davidson davies davis dawson day dean diaz dixon dunn edwards elliott ellis evans ferguson
fernandez fisher fitzgerald fleming fletcher flores ford foster fowler fox franklin freeman
fuller garcia gardner garrett gibson gilbert gomez gonzales gonzalez gordon graham grant gray
green greene griffin gutierrez hall hamilton hansen hanson harper harris harrison hart harvey
hawkins hayes henderson henry hernandez hicks hill hoffman holland holmes howard howell hudson
hughes hunt hunter jackson james jenkins jensen johnson johnston jones jordan kelly kennedy
kim king knight lambert lane larson lawrence lawson lee lewis little lopez lynch marshall
martin martinez mason matthews mcdonald mckenzie mcgrath miller mills mitchell moore morales
moreno morgan morris murphy murray myers nelson newman nguyen nichols nicholson obrien oconnor
olson ortiz owens palmer parker patel patterson payne pearson perez perkins perry peters
peterson phillips pierce porter powell price quinn ramirez ramos reed reid reyes reynolds
rice richards richardson riley rivera roberts robertson robinson rodriguez rogers rose ross
russell ryan sanchez sanders schmidt scott shaw simmons simpson sims smith snyder spencer
stanley stephens stevens stewart stone sullivan sutton taylor thomas thompson torres tucker
turner vasquez wagner walker wallace walsh walters ward warren washington watkins watson
weaver webb wells west wheeler white williams williamson willis wilson wood woods wright
young hopper lovelace turing darwin newton einstein curie
muller mueller schmidt schneider fischer weber meyer meier wagner becker schulz schulze
hoffmann schafer koch bauer richter klein wolf schroder neumann schwarz zimmermann braun
kruger hofmann hartmann lange schmitt werner schmitz krause lehmann schmid schulte kohler
maier herrmann konig walter mayer huber kaiser fuchs peters lang scholz moller weiss jung
hahn schubert vogel friedrich keller gunther frank berger winkler roth beck lorenz baumann
franke albrecht schuster simon ludwig bohm winter kraus martin schumacher kramer vogt
stein jager otto sommer gross seidel heinrich brandt haas schreiber graf dietrich ziegler
kuhn engel pohl horn sauer arnold thomas bergmann busch pfeiffer voigt wolff
martin bernard dubois thomas robert richard petit durand leroy moreau simon laurent lefebvre
michel garcia david bertrand roux vincent fournier morel girard andre lefevre mercier dupont
lambert bonnet francois martinez legrand garnier faure rousseau blanc guerin muller henry
roussel nicolas perrin morin mathieu clement gauthier dumont lopez fontaine chevalier robin
masson sanchez gerard nguyen boyer denis lemaire duval joly gautier roger roche roy noel
meyer lucas meunier jean perez marchand dufour blanchard marie barbier brun dumas brunet
schmitt leroux colin fernandez renaud arnaud giraud picard
garcia rodriguez gonzalez fernandez lopez martinez sanchez perez gomez martin jimenez ruiz
hernandez diaz moreno alvarez munoz romero alonso gutierrez navarro torres dominguez vazquez
ramos gil ramirez serrano blanco suarez molina morales ortega delgado castro ortiz rubio marin
sanz iglesias nunez medina garrido cortes castillo santos lozano guerrero cano prieto mendez
calvo cruz gallego vidal leon herrera marquez pena flores cabrera campos vega fuentes carrasco
diez caballero reyes aguilar pascual herrero santana lorenzo hidalgo montero ibanez gimenez
ferrer duran vicente benitez mora arias vargas carmona crespo roman pastor soto saez velasco
rossi russo ferrari esposito bianchi romano colombo ricci marino greco bruno gallo conti
deluca mancini costa giordano rizzo lombardi moretti barbieri fontana santoro mariani rinaldi
caruso ferrara galli martini leone longo gentile martinelli vitale lombardo serra coppola
desantis dangelo marchetti parisi villa conte ferraro ferri fabbri bianco marini grasso
valentini messina sala deangelis gatti pellegrini palumbo sanna farina rizzi monti cattaneo
silva santos oliveira souza sousa rodrigues ferreira alves pereira lima gomes costa ribeiro
martins carvalho almeida lopes soares fernandes vieira barbosa rocha dias nascimento andrade
moreira nunes marques machado mendes freitas cardoso ramos goncalves santana teixeira
devries jansen bakker visser smit meijer mulder bos vos peters hendriks dekker brouwer
dijkstra vandijk vandenberg devos janssens maes jacobs willems claes goossens wouters
johansson andersson karlsson nilsson eriksson larsson olsson persson svensson gustafsson
pettersson jonsson hansen johansen olsen larsen andersen pedersen nielsen kristiansen
jensen christensen rasmussen korhonen virtanen makinen nieminen makela hamalainen
nowak kowalski wisniewski wojcik kowalczyk kaminski lewandowski zielinski szymanski
wozniak dabrowski kozlowski jankowski mazur kwiatkowski krawczyk piotrowski grabowski
nowakowski pawlowski michalski nowicki adamczyk dudek zajac wieczorek jablonski krol majewski
olszewski jaworski wrobel malinowski pawlak witkowski walczak stepien gorski rutkowski
novak svoboda novotny dvorak cerny prochazka kucera vesely horak nemec pokorny marek
nagy kovacs toth szabo horvath varga kiss molnar nemeth farkas balogh papp takacs juhasz
horvat kovacevic babic maric juric novak kovac petrovic jovanovic nikolic markovic djordjevic
yilmaz kaya demir sahin celik yildiz yildirim ozturk aydin ozdemir arslan dogan kilic aslan
cetin kara koc kurt ozkan simsek polat korkmaz
ivanov petrov sidorov smirnov kuznetsov popov vasiliev sokolov mikhailov novikov fedorov
morozov volkov alekseev lebedev semenov egorov pavlov kozlov stepanov nikolaev orlov
andreev makarov zakharov zaitsev solovyov borisov yakovlev grigoriev romanov vorobiev
kovalenko shevchenko bondarenko tkachenko kravchenko melnyk boyko
papadopoulos papadakis georgiou dimitriou nikolaou ioannou konstantinou christodoulou
pappas karagiannis vlachos oikonomou
ali khan ahmed hussain hussein rahman malik shah iqbal akhtar aziz baig butt chaudhry
hassan ibrahim mahmoud mansour nasser omar saleh salem youssef haddad khoury nassar hamdan
abbas abdullah alrashid al-rashid alsaud al-saud alfarsi al-farsi almansouri al-mansouri
sharma verma gupta singh kumar patel shah mehta joshi reddy rao nair iyer menon pillai
chatterjee banerjee mukherjee das bose sen ghosh dutta roy chopra kapoor malhotra khanna
bhatia saxena agarwal aggarwal jain mishra pandey tiwari dubey yadav chauhan thakur desai
kulkarni patil deshmukh naidu chowdhury choudhury sinha srivastava trivedi bhatt
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng
liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du
ye cheng su wei lu ding ren shen yao lu jiang cui zhong tan wong chan cheung leung lau
ng ho lam chow yip tsang kwok
sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida
yamada sasaki yamaguchi matsumoto inoue kimura hayashi shimizu yamazaki mori abe ikeda
hashimoto yamashita ishikawa nakajima maeda fujita ogawa goto okada hasegawa murakami
kondo ishii saito sakamoto endo aoki fujii nishimura fukuda ota miura fujiwara okamoto
matsuda nakagawa nakano harada ono tamura takeuchi kaneko wada nakayama ishida ueda
kim lee park choi jung jeong kang cho yoon yun jang lim han oh seo shin kwon hwang ahn
song yoo hong jeon ko moon yang son bae baek heo nam shim noh ha kwak sung cha joo woo
koo min ryu na jin
nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly truong dinh
okafor okonkwo adeyemi okeke nwosu balogun mensah boateng owusu asante kamau otieno
mwangi ochieng njoroge dlamini nkosi ndlovu mokoena
cohen levi mizrahi peretz biton friedman katz goldberg rosenberg shapiro klein
kaczmarek michalak jakubowski sikora baran duda szewczyk tomaszewski pietrzak marciniak
wasilewski zalewski jasinski sadowski bak chmielewski wlodarczyk borkowski czarnecki sawicki
sokolowski urbanski kubiak maciejewski szczepanski kucharski wilk kalinowski lis mazurek
vries jong boer groot wit graaf bruin haan leeuw jager ruiter bos berg linden dijk meer
veen wal heuvel brink beek hoek kok vermeulen peeters maes claes mertens
"""

# Surnames that are common English words: a surname only beside a given name or a title.
AMBIGUOUS_SURNAMES = """
banks bell berry bishop black blake brooks brown burns butler carpenter cook
cox cruz day dean fisher fox gray green greene hall hart hill holland hunt hunter jordan king
knight lane little long marshall mason mills page porter price reed rice rose short stone
walker ward weaver wells west white wood woods wright young frank
graf horn jung lang otto roth winter wolf jean marie roy leon noel blanc petit david
rossi costa santos bruno leone gallo serra villa sala monti lima rocha dias nunes marques
ramos vega mora roman pastor soto campos reyes
ali khan das sen roy bose rao jain shah
wang li he gao lin ma sun song tang han yu du ye lu su ren shen yao tan ng ho lam chow ko
ono abe mori ota wada
kim lee park choi jung kang cho yoon jang lim han oh seo shin ahn song yoo hong moon yang son
bae nam noh ha sung cha joo woo koo min ryu na jin
le pham do ho ly
"""

# Lower-case particles that may sit inside a name ("Ludwig van Beethoven", "bin Salman").
PARTICLES = frozenset(
    "van von der den de del della di da dos das du la le bin ibn bint al el ter ten zu"
    " y e mac st".split()
)


def _fold_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Capitalised words that are never part of a name: they end a name and are not taken after a
# given name ("Anna Monday") nor after a cue ("Hi Team").
NOT_NAMES = frozenset(
    """
    i a an the this that these those my your our his her its their we you he she it they me us
    him them mr mrs ms miss dr prof sir madam hello hi hey dear thanks thank please yes no ok
    okay sure sorry good morning afternoon evening night welcome best kind regards cheers
    sincerely yours truly warm warmest love team support customer customers service services
    client clients user users everyone all everybody folks guys friends friend colleagues
    members partner partners staff manager admin sales hr it student students parents mom dad
    mum grandma grandpa doctor professor coach valued what when where why how who whom which
    whose can could would should shall will is are was were be been do does did done have has
    had if and but or so then also in on at for from to with by of as after before today
    tomorrow yesterday here there now let just not any some every each note street road avenue
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december inc ltd llc gmbh corp co company
    university hospital bank school college group the der die das ich sie wir ihr er es und
    oder mit von bei herr frau guten tag danke bitte hallo liebe lieber freundlichen grussen
    le la les je vous nous il elle et ou avec pour bonjour merci madame monsieur cher chere
    el los las yo usted nosotros hola gracias senor senora estimado estimada querido querida
    il lo gli io lei noi ciao grazie signor signora gentile caro cara
    o os eu voce nos ola obrigado obrigada senhor senhora
    python java javascript typescript docker linux windows macos ios android google
    microsoft apple amazon github gitlab openai chatgpt excel word pdf json api sql http https
    url email phone address name date time order invoice account password id number
    chapter section page table figure step part item total subtotal tax
    ask tell call email contact meet please forward send cc attn message ping invite remind
    notify write reply visit check see read open click use try make take give get note
    north south east west new old big small great first last next other same world there
    boss sir madam nintendo samsung sony google microsoft amazon dell lenovo asus acer canon
    nikon bose dyson philips xiaomi huawei oppo nokia garmin fitbit logitech razer tesla
    toyota honda bmw audi nike adidas ikea lego netflix spotify uber airbnb zoom slack jira
    notion figma adobe oracle intel nvidia amd qualcomm ibm cisco salesforce shopify stripe
    paypal visa mastercard paperwhite thinkpad macbook iphone ipad android playstation xbox
    kindle alexa siri cortana gemini claude copilot chatgpt northwind contoso fabrikam
    """.split()
)

# More given names, so that names from anywhere are covered beyond the most common.
GIVEN_MORE = """
maximilian sebastian fabian johann konstantin leopold ferdinand gottfried siegfried wilhelm
hermann theresa margarethe margarete katharina annalena hildegard gertrud ursula liesel greta
frieda mathilda emil benedikt vinzenz xaver korbinian quirin elias jakob luis emilia mila
luisa lotta leni henri oskar lennart malte henrik till jannis ole hauke wiebke imke frauke
zuzana lucie veronika katerina barbora michaela jitka ludmila vlasta jaroslava miroslava tomas
lukas matej ladislav bohumil libor stepan radka
siobhan aoife niamh saoirse ciara caoimhe orla sinead roisin grainne eoin cian oisin padraig
seamus ciaran niall declan eamon fionn darragh cathal dermot colm tadhg aisling clodagh
ewan hamish alastair callum fraser iain angus morag isla kirsty ailsa dafydd rhys gareth
bethan cerys sian emrys
mikkel rasmus soren kasper mads jesper morten alva ebba wilma tuva nora ingeborg solveig gudrun
liv siri kirsten mette lene trine pia anette juha jukka matti mikko timo pekka antti jari kari
heikki tiina paivi riikka aino eino veikko
alexandru ionut mihai cristian florin razvan ionela ioana andreea raluca mihaela oana
valeria renata itzel yesenia araceli maricela davi heitor bernardo enzo manuela luiza lara
livia alessio edoardo ginevra noemi
yasmin noor hiba rana dina lina reem huda mona samira salim rami hani basil ziad majid
faisal sultan saad fahad abdulaziz abdulla mohamad mohd muhamad hamid hamed mahdi hussain
husain ayesha aysha asif arif atif adnan irfan kamran usman osman uthman umar hafsa sumaya
safiya ruqayya zubair zeeshan shahid sajid junaid faraz faheem nadeem naeem saleem waseem
rizwan shoaib sohail tahir yasir yaser zahid zafar
arash babak dariush farhad kaveh kourosh navid omid parisa pegah roya sahar shirin soraya
yasaman zohreh mina nasrin mahsa niloufar hossein mehdi
vivaan vihaan reyansh ayaan ishaan shaurya atharv ananya diya saanvi aadhya anika navya myra
riya kavya meera isha tanvi nikita pallavi payal preeti puja radha rani rekha ritu sakshi
sangeeta seema shalini shilpa shruti smita sonal sudha suman tanya usha vandana varsha vidya
abhishek ajit akshay alok aman amar anurag arvind ashish bharat chetan darshan deepak dev
dhruv dinesh gopal hari harsh hemant jatin jayesh kamal karan kartik kunal lalit madhav
mahendra mayank mohit naresh naveen nilesh nitin pankaj parth piyush prateek raghav rajiv
rajendra ranjit ravindra rishi sameer sanjeev satish shankar shashi shiv siddharth sudhir
sumit tarun tushar uday varun vikas vinay vishal vivek yash yogesh venkat srinivas lakshman
murali balaji karthik senthil subramanian
xiaoming jianguo weiwei lili yiming zihan haoran yuxuan zixuan xinyi yutong jiahao junjie
zhiwei minghao xiaoli xiaohong meiling yating shufen chunhua guoqiang jianhua jianjun
haruki hayato kenichi masahiro masato naoto ren shun sota takumi tatsuya tomoya tsubasa
yamato yusuke yuta yuya akiko asuka chika emi eri hitomi kaori kana kumiko mao mei miho mika
miki momoko nana natsuki rie rin saki sayaka shiori yuri yuna yuko yukiko
minjun seoyeon jiwoo jihoon hyunwoo jiyeon soojin minji jisoo taehyung jungkook seokjin
namjoon yoongi hoseok jimin
somchai somsak somporn suda malee anong arthit kittisak nattapong sirichai supachai wanchai
chatchai thanawat pornthip siriporn kanya ratana sunee
chiamaka nnamdi uche ifeanyi babatunde olumide temitope titilayo yetunde folasade kemi bisi
segun femi bola kunle kojo kwesi ama akua abena efua yaw thabo sipho themba lerato naledi
nomvula thandiwe bongani mandla sibusiso amahle wanjiku njeri akinyi achieng atieno baraka
juma amani imani zawadi tigist meron selam dawit yonas tesfaye
avi yossi moshe yael noa tamar shira michal eitan itai omer noam uri ari gal maya talia
yonatan eliyahu shlomo yitzhak yaakov avraham rivka chaim menachem mordechai shmuel zvi dov
gilad lior liat orly hadas keren efrat ronit sigal limor tali
ramil rommel jomar jayson kristine mylene rowena marites analyn
eline femke fenna noor tess isa roos sem luuk jasper joris bas teun gijs floris hidde sietse
mirjam annemiek marieke ilse renske lisanne esmee fleur anouk lieke marit sanne
bartlomiej jedrzej mateusz szymon wiktor filip antoni kacper dawid damian hubert oliwer
zuzanna oliwia alicja wiktoria nikola weronika klaudia paulina karolina sylwia marzena
zaneta dominika edyta ilona izabela kinga martyna milena patrycja grzegorz
friederike annegret ilse irmgard waltraud rosemarie gudrun dorothea liselotte hannelore
eberhard gunther joachim dietrich burkhard detlef ekkehard guido hartmut jochen kai lothar
gonçalo goncalo thais marcio rui nuno duarte martim guilherme andre vasco leonor matilde ines
margarida francisca catarina rita joana filipa patricia claudia monica jessica aline priscila
fabio rogerio leandro everton wellington wagner
therese gael mael loic oceane chloe lea zoe ambre romane juliette margot clemence capucine
agathe apolline gabin jules louis mathis timothee quentin kevin jeremy mickael sylvain olivier
patrice regis gwenael erwan ronan tristan bastien damien ludovic xavier
sarka sarah jiri petra zdenka ivana dragana jelena milica snezana vesna bojana marija ana
ozge busra gizem ece irem pinar berk efe emir eren kaan kerem mert onur ozan tolga ugur
volkan yigit sinan erdem levent baris ilker ozgur serdar tuncay selim nihat oguz gokhan
erkan orhan nazim
"""

SURNAMES_MORE = """
oberhuber gruber huber wagner pichler steiner moser mayer hofer leitner berger fuchs eder
fischer schmid winkler weber schwarz maier schneider reiter mayr schmidt wimmer egger
brunner lang baumgartner auer binder lechner wolf wallner aigner ebner koller lehner haas
schuster novakova horakova dvorakova cerna prochazkova kucerova vesela svobodova
siddiqui qureshi hashmi rizvi naqvi zaidi jafri ansari farooqui sheikh mirza bhutto
vestager lindqvist lindgren lindberg bergstrom nystrom sjoberg holm dahl lund berg strand
murphy kelly walsh byrne ryan doyle mccarthy gallagher doherty kennedy lynch murray quinn
moore mcloughlin carroll connolly daly connell wilson dunne brennan burke collins campbell
clarke johnston hughes farrell fitzgerald brown martin maguire nolan flynn thompson callaghan
"""


GIVEN_NAMES = _fold_set(GIVEN + GIVEN_MORE)
AMBIGUOUS_GIVEN_NAMES = _fold_set(AMBIGUOUS_GIVEN)
SURNAME_SET = _fold_set(SURNAMES + SURNAMES_MORE)
AMBIGUOUS_SURNAME_SET = _fold_set(AMBIGUOUS_SURNAMES)
